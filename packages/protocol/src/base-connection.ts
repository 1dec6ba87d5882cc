/**
 * The part of a `Connection` every transport shares: request ids, pending requests and their
 * timeouts, handler dispatch, error responses, validation and close semantics. A transport
 * subclasses it and supplies only how messages leave (`transmit`) and arrive (`receiveFrame` /
 * `receiveMessage`), so both transports behave the same by construction, and the conformance
 * suite checks that they do.
 */
import {
  ClosedError,
  ConfigurationError,
  InternalError,
  Listeners,
  ProtocolError,
  TimeoutError,
  isCopycatError,
  type Cancellable,
  type CopycatError,
  type Listener,
  type ListenerRegistration,
  type Scheduler,
} from '@copycat/common';
import { type MsgpackWriter } from '@copycat/io';
import { readFrame } from './codec.js';
import { asCopycatError, errorResponse } from './errors.js';
import { decodeMessages, encodeRequestWithId, encodeResponseBody } from './message-codec.js';
import {
  MessageType,
  isRequestType,
  messageTypeName,
  type MessageTypeValue,
  type RequestType,
} from './message-type.js';
import {
  type ErrorResponseBody,
  type OutgoingRequest,
  type Request,
  type Response,
  type ResponseBody,
  type ResponseFor,
} from './messages/index.js';
import { PendingRequests } from './pending-requests.js';
import { type CloseEvent, type Connection, type RequestHandler, type SendOptions } from './transport.js';
import { readEnvelope, validateRequest, validateResponse } from './validate.js';

export interface BaseConnectionOptions {
  /** Runs request timeouts (and any other timer of the connection). */
  readonly scheduler: Scheduler;
  /** Default per-request timeout, ms. */
  readonly requestTimeout: number;
}

/** A request waiting for its response: the settling functions of the promise `send` returned. */
class PendingRequest {
  resolve: (response: Response) => void = settleNothing;
  reject: (error: CopycatError) => void = settleNothing;

  constructor(
    readonly id: number,
    readonly type: RequestType,
    readonly timeout: number,
    /** Scheduler time at which the request times out. */
    readonly deadline: number,
  ) {}
}

function settleNothing(): void {}

/** Longest request timeout, ms: what a timer can wait (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMEOUT = 0x7fff_ffff;

// The promise of each request is made with this one executor, which hands its settling functions
// to the request being sent (`settling`): no closure is made per request for it.
let settling: PendingRequest | undefined;
function takeSettlers(resolve: (response: Response) => void, reject: (error: CopycatError) => void): void {
  settling!.resolve = resolve;
  settling!.reject = reject;
}

export abstract class BaseConnection implements Connection {
  protected readonly scheduler: Scheduler;
  private readonly requestTimeout: number;
  private readonly pending = new PendingRequests<PendingRequest>();
  /** By request type (small integers): an array load per request rather than a hash lookup. */
  private readonly handlers: (RequestHandler<RequestType> | undefined)[] = [];
  private readonly closeListeners = new Listeners<CloseEvent>();
  private readonly errorListeners = new Listeners<CopycatError>();
  private closeEvent: CloseEvent | undefined;
  private readonly pendingRequestType = (id: number) => this.pending.get(id)?.type;
  // One timer for all pending requests, due at the earliest deadline, rather than one timer per
  // request: requests usually complete long before their deadline, so setting and cancelling a
  // timer for each would be most of the cost of timeouts.
  private sweep: Cancellable | undefined;
  private sweepAt = Number.POSITIVE_INFINITY;

  protected constructor(options: BaseConnectionOptions) {
    this.scheduler = options.scheduler;
    this.requestTimeout = options.requestTimeout;
  }

  /**
   * Sends one message to the peer, or throws (e.g. `FrameTooLargeError`) if it cannot. `encoded`
   * is its msgpack encoding, already checked against its schema: a view of a scratch buffer, so
   * copy it (into a frame) before returning. `type` is the message's type (`MessageType.response`
   * for a response) and `id` its id. For a request it may return a promise (e.g. to wait for a
   * send buffer to drain); a rejection fails that request. Responses must be accepted
   * synchronously. Never delivers synchronously.
   */
  protected abstract transmit(type: MessageTypeValue, id: number, encoded: Uint8Array): void | Promise<void>;

  /**
   * Where the next message may be encoded in place (in the frame a transport is building, say,
   * so that `transmit` need not copy it there), or `undefined` for the codec's scratch buffer.
   * Each writer given is followed by `encoded()` once the message is transmitted or given up
   * (it failed to encode, or `transmit` threw); in between, `encoded` may or may not lie in it.
   */
  protected encodeTarget(): MsgpackWriter | undefined {
    return undefined;
  }

  /** The message last encoded into the writer of `encodeTarget()` was transmitted or given up. */
  protected encoded(): void {}

  /** Releases the underlying channel after `close()`; idempotent. */
  protected abstract closeTransport(): Promise<void>;

  /**
   * Called when request `id` times out: if the transport still holds it unsent, it drops it and
   * returns the error to report instead of a `TimeoutError` (the request was never sent).
   */
  protected abandon(_id: number): CopycatError | undefined {
    return undefined;
  }

  get closed(): boolean {
    return this.closeEvent !== undefined;
  }

  /** Number of requests waiting for a response. */
  get pendingRequests(): number {
    return this.pending.size;
  }

  send<R extends OutgoingRequest>(request: R, options?: SendOptions): Promise<ResponseFor<R>> {
    if (this.closeEvent !== undefined) {
      return Promise.reject(
        new ClosedError(`cannot send a ${messageTypeName(request.type)} request: the connection is closed`),
      );
    }
    const id = this.pending.nextId();
    const target = this.encodeTarget();
    try {
      return this.sendEncoded(id, request, target, options);
    } finally {
      if (target !== undefined) this.encoded();
    }
  }

  private sendEncoded<R extends OutgoingRequest>(
    id: number,
    request: R,
    target: MsgpackWriter | undefined,
    options: SendOptions | undefined,
  ): Promise<ResponseFor<R>> {
    let encoded: Uint8Array;
    try {
      // Checked here, a malformed request points at the code that built it, not at the peer. The
      // id is written apart from the request: no copy of the request is made to add it.
      encoded = encodeRequestWithId(id, request, target);
    } catch (error) {
      return Promise.reject(asCopycatError(error));
    }
    const type = request.type;
    const timeout = options?.timeout ?? this.requestTimeout;
    if (!(timeout >= 0 && timeout <= MAX_TIMEOUT)) {
      return Promise.reject(
        new ConfigurationError(`a request timeout must be 0 to ${MAX_TIMEOUT} ms, got ${timeout}`),
      );
    }
    const pending = new PendingRequest(id, type, timeout, this.scheduler.now() + timeout);
    settling = pending;
    const response = new Promise<Response>(takeSettlers); // runs the executor at once
    settling = undefined;
    this.pending.add(pending);
    // Whatever goes wrong from here fails this request: `send` never throws, and no promise is
    // left for a close to reject with nobody listening.
    try {
      this.armSweep(pending.deadline);
      const sent = this.transmit(type, id, encoded);
      if (sent !== undefined) sent.then(undefined, (error: unknown) => this.fail(id, asCopycatError(error)));
    } catch (error) {
      this.fail(id, asCopycatError(error));
    }
    return response as Promise<ResponseFor<R>>;
  }

  handler<K extends RequestType>(type: K, handler: RequestHandler<K>): void {
    if (!isRequestType(type))
      throw new ConfigurationError(`cannot handle ${String(type)}: not a request type`);
    this.handlers[type] = handler as unknown as RequestHandler<RequestType>;
  }

  onClose(listener: Listener<CloseEvent>): ListenerRegistration {
    const event = this.closeEvent;
    if (event === undefined) return this.closeListeners.add(listener);
    // Already closed: tell the late listener too, but never synchronously inside onClose().
    const task = this.scheduler.schedule(0, () => listener(event));
    return { close: () => task.cancel() };
  }

  onError(listener: Listener<CopycatError>): ListenerRegistration {
    return this.errorListeners.add(listener);
  }

  async close(): Promise<void> {
    this.shutdown({}, new ClosedError('the connection was closed while the request was in flight'));
    await this.closeTransport();
  }

  // ---- for transports --------------------------------------------------------------------

  /** The underlying channel went away: pending requests reject with `error`, listeners hear it. */
  protected terminate(error: CopycatError): void {
    this.shutdown({ error }, error);
  }

  /** Reports a problem that does not close the connection. */
  protected reportError(error: CopycatError): void {
    this.errorListeners.emit(error);
  }

  /** Handles one received frame (see codec.ts): every message in it, in order. */
  protected receiveFrame(frame: Uint8Array): void {
    if (this.closeEvent !== undefined) return;
    const checked = decodeMessages(frame, this.pendingRequestType);
    if (checked !== undefined) {
      const { messages, types } = checked;
      for (let i = 0; i < messages.length; i++) {
        if (this.closeEvent !== undefined) return;
        const message = messages[i]!;
        if (message.type === MessageType.response) this.completeChecked(message.id, types[i]!, message);
        else this.handle(message.type, message.id, message);
      }
      return;
    }
    // Anything unusual, malformed frames included: decoded generically, each message checked.
    const values = readFrame(frame);
    if (values instanceof ProtocolError) {
      this.reportError(values);
      return;
    }
    // values[0] is the version.
    for (let i = 1; i < values.length; i++) this.receiveMessage(values[i]);
  }

  /** Handles one decoded message: completes a pending request or dispatches a request to its handler. */
  protected receiveMessage(value: unknown): void {
    if (this.closeEvent !== undefined) return;
    // Only unusual frames come here (see receiveFrame): no shortcut for the common case.
    const envelope = readEnvelope(value);
    switch (envelope.kind) {
      case 'response':
        this.complete(envelope.id, value);
        return;
      case 'request':
        this.dispatch(envelope.type, envelope.id, value);
        return;
      case 'unknown': {
        // INTERNALS.md (Wire protocol): unknown message types get a PROTOCOL_ERROR response; the
        // connection stays up. Without a readable id there is nobody to answer.
        const error = new ProtocolError(envelope.problem);
        if (envelope.id !== undefined) this.answer(undefined, envelope.id, errorResponse(error));
        this.reportError(error);
        return;
      }
    }
  }

  // ---- internals -------------------------------------------------------------------------

  private complete(id: number, value: unknown): void {
    const pending = this.pending.take(id);
    // A response nobody waits for came after its timeout, or is a duplicate: both are normal.
    if (pending === undefined) return;
    try {
      pending.resolve(validateResponse(pending.type, value));
    } catch (error) {
      pending.reject(asCopycatError(error));
    }
  }

  /** `complete` for a response already checked against the schema of a request of type `checkedAs`. */
  private completeChecked(id: number, checkedAs: RequestType, response: Response): void {
    const pending = this.pending.get(id);
    if (pending === undefined || pending.type !== checkedAs) {
      // The request it answered is gone (handled earlier in the same frame): as any other.
      this.complete(id, response);
      return;
    }
    this.pending.take(id);
    pending.resolve(response);
  }

  private armSweep(deadline: number): void {
    if (deadline >= this.sweepAt) return;
    this.sweep?.cancel();
    this.sweepAt = deadline;
    this.sweep = this.scheduler.schedule(Math.max(0, deadline - this.scheduler.now()), () =>
      this.expireDue(),
    );
  }

  /** Times out every request whose deadline has come, and arms the timer for the next one. */
  private expireDue(): void {
    this.sweep = undefined;
    this.sweepAt = Number.POSITIVE_INFINITY;
    const now = this.scheduler.now();
    let next = Number.POSITIVE_INFINITY;
    for (const pending of this.pending.list()) {
      if (pending.deadline <= now) this.expire(pending);
      else if (pending.deadline < next) next = pending.deadline;
    }
    if (next !== Number.POSITIVE_INFINITY) this.armSweep(next);
  }

  private expire(pending: PendingRequest): void {
    const id = pending.id;
    if (this.pending.take(id) !== pending) return; // already settled
    const name = messageTypeName(pending.type);
    pending.reject(
      this.abandon(id) ?? new TimeoutError(`${name} request ${id} timed out after ${pending.timeout} ms`),
    );
  }

  private fail(id: number, error: CopycatError): void {
    this.pending.take(id)?.reject(error);
  }

  private dispatch(type: RequestType, id: number, value: unknown): void {
    let request: Request;
    try {
      request = validateRequest(value);
    } catch (error) {
      const protocolError = asCopycatError(error);
      this.answer(type, id, errorResponse(protocolError));
      this.reportError(protocolError);
      return;
    }
    this.handle(type, id, request);
  }

  /** Runs the handler of a checked request and answers with what it returns. */
  private handle(type: RequestType, id: number, request: Request): void {
    const handler = this.handlers[type];
    if (handler === undefined) {
      this.answer(
        type,
        id,
        errorResponse(new ProtocolError(`no handler for ${messageTypeName(type)} requests`)),
      );
      return;
    }
    let result: ResponseBody<RequestType> | PromiseLike<ResponseBody<RequestType>>;
    try {
      result = handler(request);
    } catch (error) {
      this.answerWithError(type, id, error);
      return;
    }
    if (isPromiseLike(result)) {
      result.then(
        (body) => this.answer(type, id, body),
        (error: unknown) => this.answerWithError(type, id, error),
      );
    } else {
      this.answer(type, id, result);
    }
  }

  private answerWithError(type: RequestType, id: number, error: unknown): void {
    if (isCopycatError(error)) {
      this.answer(type, id, errorResponse(error));
      return;
    }
    // Not a CopycatError: a bug in the handler. Answer so the peer does not wait for a timeout.
    const internal = new InternalError(
      `${messageTypeName(type)} handler failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
    this.reportError(internal);
    this.answer(type, id, errorResponse(internal));
  }

  /** Sends the response to request `id` (of `type`, when known). */
  private answer(
    type: RequestType | undefined,
    id: number,
    body: ResponseBody<RequestType> | ErrorResponseBody,
  ): void {
    if (this.closeEvent !== undefined) return;
    const target = this.encodeTarget();
    let tooLarge: CopycatError | undefined;
    try {
      tooLarge = this.answerEncoded(type, id, body, target);
    } finally {
      if (target !== undefined) this.encoded();
    }
    // The requester still gets an answer, and the connection stays up.
    if (tooLarge !== undefined) this.answer(undefined, id, errorResponse(tooLarge));
  }

  /** `answer`, encoding into `target`; returns the error to answer with instead, if any. */
  private answerEncoded(
    type: RequestType | undefined,
    id: number,
    body: ResponseBody<RequestType> | ErrorResponseBody,
    target: MsgpackWriter | undefined,
  ): CopycatError | undefined {
    // The envelope (type, id) is written apart from the body: no object is made per response.
    let ok = false;
    let encoded: Uint8Array;
    try {
      encoded = encodeResponseBody(type, id, body, target);
      ok = body.status === 'ok';
    } catch (error) {
      const internal = new InternalError(
        type === undefined
          ? `an invalid error response: ${(error as Error).message}`
          : `${messageTypeName(type)} handler returned an invalid response: ${(error as Error).message}`,
      );
      this.reportError(internal);
      ok = false;
      encoded = encodeResponseBody(undefined, id, errorResponse(internal), target);
    }
    try {
      this.transmit(MessageType.response, id, encoded) as void;
    } catch (error) {
      const copycatError = asCopycatError(error);
      if (ok && copycatError.code === 'FRAME_TOO_LARGE') return copycatError;
      this.reportError(copycatError);
    }
    return undefined;
  }

  private shutdown(event: CloseEvent, error: CopycatError): void {
    if (this.closeEvent !== undefined) return;
    this.closeEvent = event;
    const pending = this.pending.list();
    this.pending.clear();
    this.sweep?.cancel();
    this.sweep = undefined;
    this.sweepAt = Number.POSITIVE_INFINITY;
    for (const request of pending) request.reject(error);
    this.closeListeners.emit(event);
    this.closeListeners.clear();
    this.errorListeners.clear();
  }
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
