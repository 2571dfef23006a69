//! The WebSocket close codes and reason texts the server sends (docs/protocol.md,
//! "Close codes"). Each [`ServerClose`] is one reason the server closes a
//! socket: its code is what clients act on, its text is for people.

/// Why the server closes a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerClose {
    /// This session was resumed on another socket.
    Resumed,
    /// The server is shutting down.
    ShuttingDown,
    /// No frame for three heartbeats (the session is kept for a resume).
    HeartbeatTimeout,
    /// Another WebSocket protocol violation.
    ProtocolError,
    /// A text frame is not valid UTF-8.
    InvalidUtf8,
    /// A frame over the frame limit.
    FrameTooBig,
    /// A fragmented message over the message limit in total.
    MessageTooBig,
    /// The client does not read: its outbound backlog limit was passed.
    SlowConsumer,
    /// The `hello` carried a bad or missing token.
    BadToken,
    /// The first frame is binary.
    BinaryHello,
    /// The first frame is text but not a valid `hello`.
    InvalidHello,
    /// The token of the socket's `hello` expired.
    TokenExpired,
    /// The token of the socket's `hello` was revoked (logout, password change).
    TokenRevoked,
    /// The agent was disabled.
    AgentDisabled,
    /// No `hello` in time.
    HelloTimeout,
    /// The agent has `ws.max_sockets_per_agent` sockets already.
    TooManySockets,
    /// The client went over the frame rate limit.
    TooFast,
    /// A visitor's hello without an identity on a channel that requires one.
    IdentityRequired,
    /// A visitor's identity hash does not match.
    IdentityNotVerified,
    /// The visitor's channel is unknown, disabled or deleted, or does not allow the page's origin.
    ChannelUnavailable,
    /// The visitor has `visitor.max_sockets_per_visitor` sockets already.
    TooManyVisitorSockets,
}

impl ServerClose {
    /// The close code.
    pub const fn code(self) -> u16 {
        match self {
            ServerClose::Resumed => 1000,
            ServerClose::ShuttingDown | ServerClose::HeartbeatTimeout => 1001,
            ServerClose::ProtocolError => 1002,
            ServerClose::InvalidUtf8 => 1007,
            ServerClose::FrameTooBig | ServerClose::MessageTooBig => 1009,
            // Not a registered code: a client too slow to read.
            ServerClose::SlowConsumer => 4008,
            ServerClose::BadToken
            | ServerClose::BinaryHello
            | ServerClose::InvalidHello
            | ServerClose::TokenExpired
            | ServerClose::TokenRevoked => 4401,
            ServerClose::IdentityRequired | ServerClose::IdentityNotVerified => 4401,
            ServerClose::AgentDisabled | ServerClose::ChannelUnavailable => 4403,
            ServerClose::HelloTimeout => 4408,
            ServerClose::TooManySockets | ServerClose::TooManyVisitorSockets => 4409,
            ServerClose::TooFast => 4429,
        }
    }

    /// The close reason text.
    pub const fn text(self) -> &'static str {
        match self {
            ServerClose::Resumed => "session resumed on another socket",
            ServerClose::ShuttingDown => "server shutting down",
            ServerClose::HeartbeatTimeout => "no frame for three heartbeats",
            ServerClose::ProtocolError => "protocol error",
            ServerClose::InvalidUtf8 => "text frame is not valid UTF-8",
            ServerClose::FrameTooBig => "frame too big",
            ServerClose::MessageTooBig => "message too big",
            ServerClose::SlowConsumer => "outbound backlog limit reached",
            ServerClose::BadToken => "bad or missing token",
            ServerClose::BinaryHello => "the first frame must be a hello",
            ServerClose::InvalidHello => "the first frame must be a valid hello",
            ServerClose::TokenExpired => "token expired",
            ServerClose::TokenRevoked => "token revoked",
            ServerClose::AgentDisabled => "agent disabled",
            ServerClose::HelloTimeout => "no hello in time",
            ServerClose::TooManySockets => "too many sockets for this agent",
            ServerClose::TooFast => "too many frames too fast",
            ServerClose::IdentityRequired => "identity required",
            ServerClose::IdentityNotVerified => "identity not verified",
            ServerClose::ChannelUnavailable => "channel unavailable",
            ServerClose::TooManyVisitorSockets => "too many sockets for this visitor",
        }
    }
}
