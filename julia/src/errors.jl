# Every status code of the C ABI becomes an exception: one type per engine error kind, named as
# the engine's `ErrorKind` (and `nb_result_name`) spells it, all subtypes of `NATSBridgeError`.
# Each carries the engine's stable numeric `code`, its `message`, and, for `Handler` errors
# raised by a Julia handler, the Julia exception that handler threw (`cause`).

"""
    NATSBridgeError <: Exception

The supertype of every error NATSBridge raises. Fields of each subtype:
- `code::Int32`: the engine's stable error code (the C ABI's `NB_ERR_*`);
- `message::String`: what went wrong;
- `cause`: the Julia exception behind it (a handler's), or `nothing`.

`NATSBridge.kind(err)` is the kind's name as a `String` (e.g. `"EnvelopeTooLarge"`), the same in
every language NATSBridge serves.
"""
abstract type NATSBridgeError <: Exception end

# (code, name, what it means): the header's NB_ERR_* codes, in order. The contract test checks
# this table against the header's #defines.
const ERROR_KINDS = (
    (1, :InvalidEnvelope, "The message is not a valid envelope (bad JSON, missing or wrongly typed fields)."),
    (2, :UnknownPayloadType, "A payload type that is not one of the seven known ones."),
    (3, :BadEncoding, "A payload's bytes do not decode as its type and encoding say (base64, UTF-8, JSON, Arrow)."),
    (4, :SizeMismatch, "The decoded or fetched byte count differs from the payload's `size`."),
    (5, :DigestMismatch, "The fetched bytes do not match the payload's `sha256`."),
    (6, :EnvelopeTooLarge, "The envelope cannot be made to fit the server's `max_payload`."),
    (7, :UploadFailed, "Uploading a payload to the claim-check store failed."),
    (8, :DownloadFailed, "Downloading a link payload failed after all retries."),
    (9, :PayloadNotFound, "The claim-check store answered 404 for a link payload."),
    (10, :OriginNotAllowed, "A link URL outside the allow-list or with a scheme other than http(s)."),
    (11, :PayloadTooLarge, "A payload is larger than the receiver's configured cap."),
    (12, :Connection, "Connecting to NATS failed or the connection is unusable."),
    (13, :Timeout, "An operation did not complete in time."),
    (14, :InvalidArgument, "An argument is invalid (a value of the wrong type or out of range, a closed handle, ...)."),
    (15, :JetStream, "A JetStream operation failed."),
    (16, :Io, "A local file could not be read or written."),
    (17, :Closed, "The client, subscription or consumer has been closed."),
    (18, :NoResponders, "A request found no subscriber on its subject."),
    (19, :Handler, "A user-supplied upload or download handler failed."),
    (20, :Publish, "Publishing to NATS failed."),
    (21, :Internal, "A bug in libnatsbridge (a caught panic, for one); please report it."),
)

for (code, name, what) in ERROR_KINDS
    @eval begin
        struct $name <: NATSBridgeError
            code::Int32
            message::String
            cause::Any
        end
        $name(message::AbstractString; cause = nothing) = $name(Int32($code), String(message), cause)
        @doc $("    NATSBridge.$(name) <: NATSBridgeError\n\n$(what) Error code $(code).") $name
    end
end

const _ERROR_TYPES = Dict{Int32,DataType}(Int32(code) => getfield(@__MODULE__, name) for (code, name, _) in ERROR_KINDS)

"""
    NATSBridge.kind(err::NATSBridgeError) -> String

The engine's name of the error kind (`"InvalidEnvelope"`, ..., `"Internal"`).
"""
kind(err::NATSBridgeError) = String(nameof(typeof(err)))

function Base.showerror(io::IO, err::NATSBridgeError)
    print(io, "NATSBridge.", nameof(typeof(err)), " (code ", err.code, "): ", err.message)
    if err.cause !== nothing
        print(io, "\ncaused by: ")
        showerror(io, err.cause)
    end
end

# The exception for a status code and message (a code that is no known kind becomes Internal,
# which keeps the number).
function _error(code::Integer, message::AbstractString; cause = nothing)
    T = get(_ERROR_TYPES, Int32(code), nothing)
    T === nothing && return Internal(Int32(code), "status $(code): $(message)", cause)
    return T(Int32(code), String(message), cause)
end

# After a C call that returned `rc`: nothing when it is NB_OK, else throws the exception for it
# with the message the library recorded on this thread. Reads the message right away: no task
# switch can happen between the call and here, so this is the same OS thread.
@inline function _check(rc::Integer)
    rc == NB_OK && return nothing
    _throw_last(rc)
end

@noinline function _throw_last(rc::Integer; cause = nothing)
    p = nb_last_error_message()
    message = p == C_NULL ? "" : unsafe_string(p)
    throw(_error(rc, message; cause = cause))
end
