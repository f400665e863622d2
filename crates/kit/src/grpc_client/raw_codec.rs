//! A pass-through gRPC codec: the message is already protobuf-encoded bytes.
//! The load generator and the gateway call any method of the descriptor set
//! with it, encoding and decoding through reflection themselves.
//!
//! The load loop encodes the request once (from JSON, via reflection) and then
//! sends the same bytes on every call, so the client spends its CPU on the
//! transport rather than on re-encoding. Responses come back as raw bytes too;
//! only `loadgen call` decodes them.

use prost::bytes::{Buf, BufMut, Bytes};
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// Sends and receives already-encoded protobuf messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        *self
    }

    fn decoder(&mut self) -> Self::Decoder {
        *self
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        // The decoder is handed exactly one message frame.
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}
