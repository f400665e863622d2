//! The platform's gRPC contract. Everything here is generated at build time
//! from `proto/`; nothing generated is committed.
#![allow(clippy::all, missing_docs, unused_qualifications)]

/// Encoded `FileDescriptorSet` of every proto, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/wework_descriptor.bin"));

pub mod wework {
    pub mod common {
        pub mod v1 {
            tonic::include_proto!("wework.common.v1");
        }
    }
    pub mod user {
        pub mod v1 {
            tonic::include_proto!("wework.user.v1");
        }
    }
    pub mod task {
        pub mod v1 {
            tonic::include_proto!("wework.task.v1");
        }
    }
    pub mod account {
        pub mod v1 {
            tonic::include_proto!("wework.account.v1");
        }
    }
    pub mod message {
        pub mod v1 {
            tonic::include_proto!("wework.message.v1");
        }
    }
    pub mod callback {
        pub mod v1 {
            tonic::include_proto!("wework.callback.v1");
        }
    }
    pub mod bench {
        pub mod v1 {
            tonic::include_proto!("wework.bench.v1");
        }
    }
}

pub use wework::account::v1 as account;
pub use wework::bench::v1 as bench;
pub use wework::callback::v1 as callback;
pub use wework::common::v1 as common;
pub use wework::message::v1 as message;
pub use wework::task::v1 as task;
pub use wework::user::v1 as user;
