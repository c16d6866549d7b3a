# JetStream: streams, publish with de-duplication by msg_id, durable pull consumers.

"""
    PublishAck(stream, sequence, duplicate)

JetStream's answer to a publish: the `stream` that stored the message, its `sequence` number in
it, and `duplicate` = true when the stream already had a message with this `msg_id` (so it was not
stored again).
"""
struct PublishAck
    stream::String
    sequence::UInt64
    duplicate::Bool
end

"""
    NATSBridge.ensure_stream(client, name, subjects)

Creates the JetStream stream `name` over `subjects` (a subject or a vector of them; wildcards
allowed) unless it exists.
"""
function ensure_stream(c::Client, name::AbstractString, subjects)
    subs = subjects isa AbstractString ? [String(subjects)] : [_string_arg("subjects", s) for s in subjects]
    isempty(subs) && throw(InvalidArgument("subjects is empty"))
    _use(c.handle) do cp
        GC.@preserve subs begin
            ptrs = Cstring[Base.unsafe_convert(Cstring, s) for s in subs]
            _check(nb_jetstream_ensure_stream(cp, String(name), ptrs, length(ptrs)))
        end
    end
    return nothing
end

"""
    NATSBridge.jetstream_publish(client, subject, data; <smartsend keywords>) -> (env, env_json_str, PublishAck)

Builds the envelope as `smartsend` does and publishes it to JetStream, waiting for the stream's
ack. The header `Nats-Msg-Id` is the envelope's `msg_id`: publishing the same `msg_id` again
within the stream's duplicate window is not stored twice (`ack.duplicate`).
"""
function jetstream_publish(c::Client, subject::AbstractString, data; kw...)
    _reject_unknown(kw, _SEND_KEYS, "jetstream_publish")
    _with_options(_send_options(; kw...)) do sopts
        payloads = _payloads(data)
        try
            sequence = Ref{UInt64}(0)
            duplicate = Ref{Bool}(false)
            stream = Ref{Ptr{UInt8}}(C_NULL)
            stream_len = Ref{Csize_t}(0)
            sent = Ref{Ptr{Cvoid}}(C_NULL)
            _with_handlers(_has_handlers(sopts)) do
                _use(c.handle) do cp
                    _use(payloads) do pl
                        _use_opt(sopts) do so
                            GC.@preserve sopts begin
                                _check_with(nb_jetstream_publish(cp, String(subject), pl, so, sequence, duplicate,
                                                                 stream, stream_len, sent), sopts.roots)
                            end
                        end
                    end
                end
            end
            ack = PublishAck(_take_string(stream, stream_len[]), sequence[], duplicate[])
            h = _own(sent, :envelope)
            h === nothing && throw(Internal("nb_jetstream_publish returned no envelope"))
            env, json = _sent_envelope(h)
            return env, json, ack
        finally
            _close(payloads)
        end
    end
end

"""
    NATSBridge.jetstream_publish_json(client, subject, msg_id, env_json_str; timeout = nothing) -> PublishAck

Publishes envelope JSON built earlier (`smartsend(...; is_publish = false)`) to JetStream with
`Nats-Msg-Id` = `msg_id`, waiting at most `timeout` seconds for the ack. Publishing it again after
a lost ack is de-duplicated by the stream.
"""
function jetstream_publish_json(c::Client, subject::AbstractString, msg_id::AbstractString, json; timeout = nothing)
    bytes = _message_bytes(json)
    sequence = Ref{UInt64}(0)
    duplicate = Ref{Bool}(false)
    stream = Ref{Ptr{UInt8}}(C_NULL)
    stream_len = Ref{Csize_t}(0)
    _use(c.handle) do cp
        _check(nb_jetstream_publish_json(cp, String(subject), String(msg_id), bytes, length(bytes), _ms(timeout),
                                         sequence, duplicate, stream, stream_len))
    end
    return PublishAck(_take_string(stream, stream_len[]), sequence[], duplicate[])
end

"""
    JetStreamConsumer

A durable pull consumer (see `NATSBridge.jetstream_consumer`). Iterate it, or take one envelope
with `NATSBridge.next(consumer; timeout)`. `close` frees it (the durable consumer stays on the
server).
"""
mutable struct JetStreamConsumer
    handle::_Owned
    client::Client
    stream::String
    durable::String
    roots::Vector{Any}
    table_format::Symbol
    on_error::Any
    max_poll::Float64
    lock::ReentrantLock           # the library serves one nb_js_consumer_next at a time per consumer
end

Base.show(io::IO, j::JetStreamConsumer) =
    print(io, "NATSBridge.JetStreamConsumer(", repr(j.stream), ", ", repr(j.durable), _isopen(j.handle) ? "" : ", closed", ")")

"""
    NATSBridge.jetstream_consumer(client, stream, durable; filter_subject = nothing, ack = :auto,
                                  ack_wait = 30.0, nak_delay = 1.0, max_deliver = -1,
                                  on_error = <log a warning>, table_format = :dataframe, max_poll = 0.05,
                                  <smartreceive keywords>) -> JetStreamConsumer

The durable pull consumer `durable` on `stream` (created unless it exists). With `ack = :auto` each
envelope is acked once received completely; with `ack = :manual` call `NATSBridge.ack!(env)` or
`NATSBridge.nak!(env)`. A message whose link payload cannot be fetched now is naked for redelivery
after `nak_delay` seconds; one that can never decode is terminated. `ack_wait`: seconds before the
server redelivers an unacked message.
"""
function jetstream_consumer(c::Client, stream::AbstractString, durable::AbstractString;
                            filter_subject = nothing, ack = :auto, ack_wait = 30.0, nak_delay = 1.0, max_deliver = -1,
                            on_error = _default_on_error, table_format::Symbol = :dataframe, max_poll::Real = 0.05, kw...)
    _reject_unknown(kw, _RECEIVE_KEYS, "jetstream_consumer")
    _check_table_format(table_format)
    max_poll > 0 || throw(InvalidArgument("max_poll must be > 0 seconds"))
    _with_options(_consumer_options(; filter_subject, ack, ack_wait, nak_delay, max_deliver)) do copts
        _with_options(_receive_options(; kw...)) do ropts
            out = Ref{Ptr{Cvoid}}(C_NULL)
            _use(c.handle) do cp
                _use_opt(ropts) do ro
                    _use_opt(copts) do co
                        _check(nb_js_consumer_new(cp, String(stream), String(durable), ro, co, out))
                    end
                end
            end
            h = _own(out, :js_consumer)
            h === nothing && throw(Internal("nb_js_consumer_new returned no consumer"))
            return JetStreamConsumer(h, c, String(stream), String(durable), copy(ropts.roots), table_format, on_error,
                                     Float64(max_poll), ReentrantLock())
        end
    end
end

"""
    NATSBridge.next(consumer::JetStreamConsumer; timeout = nothing) -> Union{Envelope,Nothing}

The consumer's next envelope, waiting at most `timeout` seconds; `nothing` when none came in time.
Throws the decoding error of a message that could not be decoded (it has been naked or terminated).
"""
function next(j::JetStreamConsumer; timeout = nothing)
    h = lock(j.lock) do
        _poll(nb_js_consumer_next, j.handle, j.roots, timeout, j.max_poll)
    end
    h === nothing && return nothing
    return _received_envelope(h, j.table_format)
end

Base.IteratorSize(::Type{JetStreamConsumer}) = Base.SizeUnknown()
Base.eltype(::Type{JetStreamConsumer}) = Envelope

function Base.iterate(j::JetStreamConsumer, state = nothing)
    while true
        env = try
            next(j)
        catch err
            err isa Closed && return nothing
            err isa NATSBridgeError || rethrow()
            j.on_error(err)
            continue
        end
        env === nothing || return (env, nothing)
    end
end

Base.close(j::JetStreamConsumer) = (_close(j.handle); nothing)
Base.isopen(j::JetStreamConsumer) = _isopen(j.handle)

function _delivery_handle(e::Envelope)
    h = getfield(e, :handle)
    h === nothing && throw(InvalidArgument("this envelope did not come from a JetStream consumer"))
    return h
end

"""
    NATSBridge.ack!(env::Envelope)

Acknowledges a JetStream envelope (consumer with `ack = :manual`): the server will not deliver it
again. Acking twice, or an auto-acked envelope, is fine.
"""
function ack!(e::Envelope)
    _use(_delivery_handle(e)) do p
        _check(nb_envelope_ack(p))
    end
    return nothing
end

"""
    NATSBridge.nak!(env::Envelope; delay = nothing)

Asks the server to deliver a JetStream envelope again after `delay` seconds (`nothing`: the
server's default). Fails with `InvalidArgument` when it has been acked already.
"""
function nak!(e::Envelope; delay = nothing)
    _use(_delivery_handle(e)) do p
        _check(nb_envelope_nak(p, _ms(delay)))
    end
    return nothing
end

"""
    NATSBridge.delivered(env::Envelope) -> Int

How many times the server has delivered this JetStream envelope (1 on the first delivery).
"""
function delivered(e::Envelope)
    out = Ref{Int64}(0)
    _use(_delivery_handle(e)) do p
        _check(nb_envelope_delivered(p, out))
    end
    return Int(out[])
end
