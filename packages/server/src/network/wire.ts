/**
 * Conversions between the core's Raft messages and @copycat/protocol's wire messages. Kept in
 * one place so the core stays free of wire concerns (ids, envelopes, status codes).
 */
import { NoLeaderError } from '@copycat/common';
import {
  MessageType,
  responseError,
  type OutgoingRequest,
  type Request,
  type RequestType,
  type ResponseBody,
  type ResponseFor,
} from '@copycat/protocol';
import type { MemberType } from '../cluster/configuration.js';
import type {
  AppendResponse,
  ConfigureResponse,
  MembershipResponse,
  PollResponse,
  RaftRequest,
  RaftResponseFor,
  TimeoutNowResponse,
  VoteResponse,
} from '../raft/messages.js';
import type { EntryCodec } from './entry-codec.js';

/** The wire request for a core request. */
export function toWire(
  request: RaftRequest,
  codec: EntryCodec,
  current: (address: string) => { type: MemberType; status: 'available' | 'unavailable' } | undefined,
): OutgoingRequest {
  switch (request.kind) {
    case 'append':
      return {
        type: MessageType.append,
        term: request.term,
        leader: request.leader,
        prevLogIndex: request.prevLogIndex,
        prevLogTerm: request.prevLogTerm,
        entries: codec.encode(request.entries),
        commitIndex: request.commitIndex,
        globalIndex: 0,
      };
    case 'poll':
      return {
        type: MessageType.poll,
        term: request.term,
        candidate: request.candidate,
        lastLogIndex: request.lastLogIndex,
        lastLogTerm: request.lastLogTerm,
      };
    case 'vote':
      return {
        type: MessageType.vote,
        term: request.term,
        candidate: request.candidate,
        lastLogIndex: request.lastLogIndex,
        lastLogTerm: request.lastLogTerm,
        ...(request.transfer === true ? { transfer: true } : {}),
      };
    case 'timeoutNow':
      return { type: MessageType.timeoutNow, term: request.term, leader: request.leader };
    case 'configure':
      return {
        type: MessageType.configure,
        term: request.term,
        leader: request.leader,
        index: request.index,
        time: request.time,
        members: request.members,
      };
    case 'join':
      return {
        type: MessageType.join,
        member: { address: request.address, type: request.type, status: 'available' },
      };
    case 'leave':
      return {
        type: MessageType.leave,
        member: {
          address: request.address,
          type: current(request.address)?.type ?? 'active',
          status: 'available',
        },
      };
    case 'reconfigure':
      return {
        type: MessageType.reconfigure,
        member: {
          address: request.address,
          type: request.type,
          status: current(request.address)?.status ?? 'available',
        },
        index: 0,
        term: 0,
      };
  }
}

/** Throws the error an error response stands for; returns the ok response otherwise. */
export function okOrThrow<R extends { status: 'ok' | 'error' }>(response: R): Extract<R, { status: 'ok' }> {
  if (response.status === 'error')
    throw responseError(response as unknown as Parameters<typeof responseError>[0]);
  return response as Extract<R, { status: 'ok' }>;
}

type CoreResponse =
  AppendResponse | PollResponse | VoteResponse | TimeoutNowResponse | ConfigureResponse | MembershipResponse;

/** The core response for a wire response to `request`. */
export function fromWireResponse(request: RaftRequest, wire: ResponseFor<Request>): CoreResponse {
  const ok = okOrThrow(wire) as unknown as Record<string, unknown>;
  switch (request.kind) {
    case 'append':
      return {
        term: ok.term as number,
        succeeded: ok.succeeded as boolean,
        lastLogIndex: ok.lastLogIndex as number,
        ...(ok.conflictIndex === undefined ? {} : { conflictIndex: ok.conflictIndex as number }),
        ...(ok.conflictTerm === undefined ? {} : { conflictTerm: ok.conflictTerm as number }),
      };
    case 'poll':
      return { term: ok.term as number, accepted: ok.accepted as boolean };
    case 'vote':
      return { term: ok.term as number, voted: ok.voted as boolean };
    case 'timeoutNow':
      return { term: ok.term as number, accepted: true };
    case 'configure':
      return { term: ok.term as number };
    case 'join':
    case 'leave':
    case 'reconfigure':
      return {
        index: ok.index as number,
        term: ok.term as number,
        time: ok.time as number,
        members: ok.members as MembershipResponse['members'],
      };
  }
}

/** The core request for an incoming wire request, or undefined if the core does not handle it. */
export function fromWireRequest(request: Request, codec: EntryCodec): RaftRequest | undefined {
  switch (request.type) {
    case MessageType.append:
      return {
        kind: 'append',
        term: request.term,
        leader: request.leader,
        prevLogIndex: request.prevLogIndex,
        prevLogTerm: request.prevLogTerm,
        entries: codec.decode(request.entries),
        commitIndex: request.commitIndex,
      };
    case MessageType.poll:
      return {
        kind: 'poll',
        term: request.term,
        candidate: request.candidate,
        lastLogIndex: request.lastLogIndex,
        lastLogTerm: request.lastLogTerm,
      };
    case MessageType.vote:
      return {
        kind: 'vote',
        term: request.term,
        candidate: request.candidate,
        lastLogIndex: request.lastLogIndex,
        lastLogTerm: request.lastLogTerm,
        ...(request.transfer === true ? { transfer: true } : {}),
      };
    case MessageType.timeoutNow:
      return { kind: 'timeoutNow', term: request.term, leader: request.leader };
    case MessageType.configure:
      return {
        kind: 'configure',
        term: request.term,
        leader: request.leader,
        index: request.index,
        time: request.time,
        members: request.members,
      };
    case MessageType.join:
      return { kind: 'join', address: request.member.address, type: request.member.type };
    case MessageType.leave:
      return { kind: 'leave', address: request.member.address };
    case MessageType.reconfigure:
      return { kind: 'reconfigure', address: request.member.address, type: request.member.type };
    default:
      return undefined;
  }
}

/** The wire response body for a core response. */
export function toWireResponse<K extends RequestType>(
  type: K,
  response: RaftResponseFor<RaftRequest>,
): ResponseBody<K> {
  return { status: 'ok', ...stripAccepted(type, response) } as unknown as ResponseBody<K>;
}

function stripAccepted(type: RequestType, response: RaftResponseFor<RaftRequest>): object {
  if (type === MessageType.timeoutNow) return { term: (response as TimeoutNowResponse).term };
  return response;
}

export function noLeader(leader: string | undefined): NoLeaderError {
  return new NoLeaderError(
    leader === undefined ? 'no leader is known' : `not the leader; the leader is ${leader}`,
  );
}
