import { describe, expect, it } from 'vitest';
import {
  CopycatError,
  ERROR_CODES,
  NoLeaderError,
  ProtocolError,
  TimeoutError,
  errorFromCode,
  isCopycatError,
  isErrorCode,
} from '@copycat/common';

describe('CopycatError', () => {
  it('carries a stable code and the subclass name', () => {
    const error = new NoLeaderError('no leader for term 3');
    expect(error).toBeInstanceOf(CopycatError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('NO_LEADER');
    expect(error.name).toBe('NoLeaderError');
    expect(error.message).toBe('no leader for term 3');
    expect(String(error)).toBe('NoLeaderError: no leader for term 3');
  });

  it('keeps the cause', () => {
    const cause = new Error('socket reset');
    expect(new TimeoutError('request timed out', { cause }).cause).toBe(cause);
  });

  it('is rebuilt from every code with the matching class', () => {
    for (const code of ERROR_CODES) {
      const error = errorFromCode(code, 'from the wire');
      expect(error.code).toBe(code);
      expect(error.message).toBe('from the wire');
      expect(error.constructor).not.toBe(CopycatError);
    }
  });

  it('turns an unknown code from a peer into a PROTOCOL_ERROR', () => {
    const error = errorFromCode('NOT_A_CODE', 'odd');
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.message).toContain('NOT_A_CODE');
  });

  it('checks codes and instances', () => {
    expect(isErrorCode('TIMEOUT')).toBe(true);
    expect(isErrorCode('timeout')).toBe(false);
    expect(isCopycatError(new TimeoutError('x'), 'TIMEOUT')).toBe(true);
    expect(isCopycatError(new TimeoutError('x'), 'CLOSED')).toBe(false);
    expect(isCopycatError(new Error('x'))).toBe(false);
  });
});
