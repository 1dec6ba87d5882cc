/**
 * The request/response maps that make types flow: `ResponseFor<VoteRequest>` is `VoteResponse`,
 * `RequestMap[typeof MessageType.vote]` is `VoteRequest`.
 */
import { type MessageType, type RequestType } from '../message-type.js';
import type * as C from './client.js';
import { type ErrorResponse } from './common.js';
import type * as M from './membership.js';
import type * as R from './raft.js';

export interface RequestMap {
  [MessageType.connect]: C.ConnectRequest;
  [MessageType.register]: C.RegisterRequest;
  [MessageType.keepAlive]: C.KeepAliveRequest;
  [MessageType.unregister]: C.UnregisterRequest;
  [MessageType.command]: C.CommandRequest;
  [MessageType.query]: C.QueryRequest;
  [MessageType.publish]: C.PublishRequest;
  [MessageType.reset]: C.ResetRequest;
  [MessageType.append]: R.AppendRequest;
  [MessageType.poll]: R.PollRequest;
  [MessageType.vote]: R.VoteRequest;
  [MessageType.configure]: R.ConfigureRequest;
  [MessageType.install]: R.InstallRequest;
  [MessageType.join]: M.JoinRequest;
  [MessageType.leave]: M.LeaveRequest;
  [MessageType.reconfigure]: M.ReconfigureRequest;
  [MessageType.transfer]: M.TransferRequest;
  [MessageType.timeoutNow]: R.TimeoutNowRequest;
}

export interface ResponseMap {
  [MessageType.connect]: C.ConnectResponse;
  [MessageType.register]: C.RegisterResponse;
  [MessageType.keepAlive]: C.KeepAliveResponse;
  [MessageType.unregister]: C.UnregisterResponse;
  [MessageType.command]: C.CommandResponse;
  [MessageType.query]: C.QueryResponse;
  [MessageType.publish]: C.PublishResponse;
  [MessageType.reset]: C.ResetResponse;
  [MessageType.append]: R.AppendResponse;
  [MessageType.poll]: R.PollResponse;
  [MessageType.vote]: R.VoteResponse;
  [MessageType.configure]: R.ConfigureResponse;
  [MessageType.install]: R.InstallResponse;
  [MessageType.join]: M.JoinResponse;
  [MessageType.leave]: M.LeaveResponse;
  [MessageType.reconfigure]: M.ReconfigureResponse;
  [MessageType.transfer]: M.TransferResponse;
  [MessageType.timeoutNow]: R.TimeoutNowResponse;
}

/** Any request. */
export type Request = RequestMap[RequestType];
/** Any response. */
export type Response = ResponseMap[RequestType];
/** Anything on the wire. */
export type Message = Request | Response;

/** `Omit` that keeps a union a union (plain `Omit` would merge its members). */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A request as the caller writes it: the connection assigns the `id`. */
export type OutgoingRequest = DistributiveOmit<Request, 'id'>;

/** The response type that answers a request (or its `type`): `ResponseFor<VoteRequest>` is `VoteResponse`. */
export type ResponseFor<R extends { readonly type: RequestType } | RequestType> = R extends RequestType
  ? ResponseMap[R]
  : R extends { readonly type: infer K extends RequestType }
    ? ResponseMap[K]
    : never;

/** A response as a handler writes it: the connection adds `type` and `id`. */
export type ResponseBody<K extends RequestType> = DistributiveOmit<ResponseMap[K], 'type' | 'id'>;

/** The body of an error response, valid as the answer to any request. */
export type ErrorResponseBody = Omit<ErrorResponse, 'type' | 'id'>;

export type * from './client.js';
export type * from './common.js';
export type * from './membership.js';
export type * from './raft.js';
