export { ByteBuffer, varUintSize } from './byte-buffer.js';
export { crc32c, crc32cImplementation, crc32cPortable } from './crc32c.js';
export {
  Serializer,
  FIRST_USER_TYPE_ID,
  LAST_TYPE_ID,
  type TypeCodec,
  type Constructor,
} from './serializer.js';
export { MsgpackReader, MsgpackReadRefused, READ_REFUSED } from './msgpack-reader.js';
export { MsgpackWriter, MsgpackWriteRefused, encodeString } from './msgpack-writer.js';
export { copyInto, viewOf } from './byte-views.js';
