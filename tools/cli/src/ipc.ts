/** Messages between `copycat cluster` and the replica processes it starts. */
export type ParentMessage = { type: 'submit'; id: number; name: string; args: unknown } | { type: 'status' };

export type ChildMessage =
  | {
      type: 'state';
      address: string;
      state: string;
      term: number;
      leader: string | undefined;
      commitIndex: number;
    }
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: string; leader: string | undefined };
