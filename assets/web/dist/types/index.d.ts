/**
 * tickcast browser SDK: connect to a tickcast server (directly, or through its matchmaker
 * into a room), mirror its snapshots (checksums verified), decode any game's entities by
 * the schema it announces, interpolate remote entities and predict the local player.
 */
export { BitReader, BitWriter, unzigzag, zigzag } from './bits.js';
export { applyBody, type BodyChanges, type EntityState, HeldEntity, type HeldSet, MAX_COMPONENTS, MAX_FIELDS } from './body.js';
export { crc32, entityHash, entityHashOf } from './crc32.js';
export { ChecksumMismatchError, DecodeError, type DecodeErrorKind, isDivergence } from './errors.js';
export { Emitter, type Listener } from './emitter.js';
export { type Applied, Mirror, wrappingDiff } from './mirror.js';
export { checkSpectate, decodeServerMessage, encodeHello, encodeInput, FLAG_ACK_ABSOLUTE, FLAG_FULL, MAX_SPECTATE_COORDINATE, type NetId, PROTOCOL_VERSION, type ServerMessage, SNAPSHOT_TAG, type SnapshotFrame, type Spectate, type Welcome, WELCOME_TAG, } from './protocol.js';
export { type ComponentSchema, type FieldSchema, type GameSchema, type InputFieldSchema, type InputKind, type InputValues, SchemaDecoder, toFloat32Within, type WorldComponents, type WorldEntity, wireValue, worldValue, wrapInteger, } from './schema.js';
export { type BufferedSnapshot, interpolateField, Interpolator, type InterpolatorOptions, type SnapshotPair } from './interpolation.js';
export { type PredictionModel, Predictor } from './prediction.js';
export { ArenaEntity, ArenaKind, ArenaMap, type ArenaMapInfo, type ArenaPlayerState, type ArenaTuning, arenaPredictionModel, dequantizeAngle, dequantizePosition, type GameInfo, parseGameInfo, quantizeAngle, quantizePosition, type Rect, stepArenaPlayer, } from './arena.js';
export { type FetchLike, type FetchResponseLike, MATCHMAKE_TIMEOUT_MS, matchmake, MatchmakeError, type MatchmakeOptions, matchmakeUrl, type MatchRequest, roomUrl, type Seat, seatUrl, withQuery, } from './matchmake.js';
export { type ClientEvents, type ClientMatchmaking, type ClientOptions, type ClientStats, type ClientTransport, type CloseEvent, CONNECT_FAILED_CLOSE_CODE, DIVERGENCE_CLOSE_CODE, type DivergenceEvent, type MatchedRoom, PROTOCOL_CLOSE_CODE, SILENT_CLOSE_CODE, type SnapshotEvent, SpectatorInputError, TickcastClient, type TokenSource, type WebSocketFactory, type WebSocketLike, } from './client.js';
export { fallbackUrl, HTTP_OPEN_TIMEOUT_MS, HttpSocket, type HttpSocketOptions, httpSocketFactory, MAX_SEND_BODY_BYTES, MAX_STREAM_FRAME_BYTES, STREAM_CLOSE, STREAM_MESSAGE, type StreamFrame, StreamFrameReader, type StreamingFetch, } from './transport.js';
import { type ClientOptions, TickcastClient } from './client.js';
/** Makes a {@link TickcastClient} for `url` and connects it. */
export declare function connect<S = unknown>(url: string, options?: ClientOptions<S>): TickcastClient<S>;
