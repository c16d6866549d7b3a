# A connection to NATS and what is done over it: subscriptions (polled from the calling task, so
# no Julia code ever runs on a thread the library starts), request-reply, raw publish.

"""
    Client

A connection to NATS, made by `NATSBridge.connect`. Use it as `NATS_connection` of `smartsend`, or
with `smartsend(client, ...)`, `smartrequest`, `NATSBridge.reply`, `NATSBridge.subscribe`,
`NATSBridge.publish`, JetStream (`NATSBridge.ensure_stream`, `NATSBridge.jetstream_publish`,
`NATSBridge.jetstream_consumer`). `close(client)` flushes and closes it (its subscriptions end);
an unreachable client is freed by its finalizer.
"""
mutable struct Client
    handle::_Owned
    servers::String
end

Base.show(io::IO, c::Client) = print(io, "NATSBridge.Client(", repr(c.servers), _isopen(c.handle) ? "" : ", closed", ")")

_use_client(f, ::Nothing) = f(C_NULL)
_use_client(f, c::Client) = _use(f, c.handle)

"""
    NATSBridge.connect(servers = "nats://localhost:4222"; name, token, user, password, nkey_seed,
                       creds_file, tls_ca, tls_cert, tls_key, tls_required = false,
                       max_reconnects = 60, connect_timeout = 5.0,
                       retry_on_initial_connect = false) -> Client

Connects to NATS. `servers`: one URL, several separated by commas, or a vector of URLs. Throws
`Connection` when no server can be reached. `connect(f, servers; ...)` runs `f(client)` and
closes the client afterwards.
"""
function connect(servers = DEFAULT_BROKER_URL; kw...)
    _with_options(_connect_options(servers; kw...)) do copts
        out = Ref{Ptr{Cvoid}}(C_NULL)
        _use_opt(copts) do co
            _check(nb_client_connect(co, out))
        end
        h = _own(out, :client)
        h === nothing && throw(Internal("nb_client_connect returned no client"))
        return Client(h, servers isa AbstractString ? String(servers) : join(servers, ","))
    end
end

function connect(f::Function, servers = DEFAULT_BROKER_URL; kw...)
    client = connect(servers; kw...)
    try
        return f(client)
    finally
        close(client)
    end
end

"""
    close(client::Client)

Flushes what was published, ends the client's subscriptions and closes the connection (waiting
up to 10 s), then frees the client. Closing twice is fine.
"""
function Base.close(c::Client)
    _isopen(c.handle) || return nothing
    try
        _use(c.handle) do p
            _check(nb_client_close(p))
        end
    catch err
        err isa Closed || rethrow()
    finally
        _close(c.handle)
    end
    return nothing
end

Base.isopen(c::Client) = _isopen(c.handle)

"""
    flush(client::Client; timeout = nothing)

Waits until everything published so far has reached the server (at most `timeout` seconds).
"""
function Base.flush(c::Client; timeout = nothing)
    _use(c.handle) do p
        _check(nb_client_flush(p, _ms(timeout)))
    end
    return nothing
end

"""
    NATSBridge.max_payload(client::Client) -> Int

The largest message the server accepts (its `max_payload`).
"""
function max_payload(c::Client)
    out = Ref{Csize_t}(0)
    _use(c.handle) do p
        _check(nb_client_max_payload(p, out))
    end
    return Int(out[])
end

"""
    NATSBridge.publish(client::Client, subject, data; reply = nothing)

Publishes raw bytes (or a String, e.g. the `env_json_str` of `smartsend(...; is_publish = false)`)
on `subject`, with NATS reply subject `reply`, and flushes.
"""
function publish(c::Client, subject::AbstractString, data; reply = nothing)
    bytes = _message_bytes(data)
    _use(c.handle) do p
        _check(nb_client_publish(p, String(subject), bytes, length(bytes),
                                 reply === nothing ? C_NULL : _string_arg("reply", reply)))
    end
    return nothing
end

# ---------------------------------------------------------------------------------------------
# Subscriptions

"""
    Subscription

Envelopes published on a subject, taken by polling the library from the task that iterates.
Iterate it (`for env in sub ... end`: ends when the subscription is closed, unsubscribed or its
client closed; a message that cannot be decoded is passed to `on_error` and skipped), or take
one envelope with `NATSBridge.next(sub; timeout)`. `close(sub)` unsubscribes and frees it.
"""
mutable struct Subscription
    handle::_Owned
    client::Client
    subject::String
    roots::Vector{Any}          # handler boxes of the receive options the subscription copied
    table_format::Symbol
    on_error::Any
    max_poll::Float64           # longest single wait inside the library, in seconds
    task::Union{Nothing,Task}
end

Base.show(io::IO, s::Subscription) =
    print(io, "NATSBridge.Subscription(", repr(s.subject), _isopen(s.handle) ? "" : ", closed", ")")

_default_on_error(err) = @warn "NATSBridge: a message could not be decoded and was skipped" exception = err

"""
    NATSBridge.subscribe(client, subject; queue = nothing, on_error = <log a warning>,
                         table_format = :dataframe, max_poll = 0.05,
                         fileserver_download_handler = _fetch_with_backoff, max_retries = 5,
                         base_delay = 100, max_delay = 5000, allowed_origins, max_in_memory,
                         save_dir, timeout) -> Subscription

Subscribes to `subject` (wildcards allowed; as a member of queue group `queue` when given).
Messages are decoded, and link payloads fetched, when they are taken, by the task that takes
them, so a Julia download handler runs there. `max_poll`: the longest the library blocks this
thread per poll (seconds); between polls other tasks run.

`NATSBridge.subscribe(f, client, subject; ...)` calls `f(env)` for every envelope in a new task
(on this thread) and returns the `Subscription`; `close` it to stop.
"""
function subscribe(c::Client, subject::AbstractString; queue = nothing, on_error = _default_on_error,
                   table_format::Symbol = :dataframe, max_poll::Real = 0.05, kw...)
    _reject_unknown(kw, _RECEIVE_KEYS, "subscribe")
    _check_table_format(table_format)
    max_poll > 0 || throw(InvalidArgument("max_poll must be > 0 seconds"))
    _with_options(_receive_options(; kw...)) do ropts
        out = Ref{Ptr{Cvoid}}(C_NULL)
        _use(c.handle) do cp
            _use_opt(ropts) do ro
                _check(nb_subscribe(cp, String(subject), queue === nothing ? C_NULL : _string_arg("queue", queue), ro, out))
            end
        end
        h = _own(out, :subscription)
        h === nothing && throw(Internal("nb_subscribe returned no subscription"))
        return Subscription(h, c, String(subject), copy(ropts.roots), table_format, on_error, Float64(max_poll), nothing)
    end
end

function subscribe(f::Function, c::Client, subject::AbstractString; kw...)
    sub = subscribe(c, subject; kw...)
    sub.task = @async begin
        for env in sub
            try
                f(env)
            catch err
                @error "NATSBridge: the subscription's function failed" subject = sub.subject exception = (err, catch_backtrace())
            end
        end
    end
    return sub
end

# Polls `poll(ptr, timeout_ms, out)` (nb_subscription_next / nb_js_consumer_next) until an
# envelope comes or `timeout` seconds pass (`nothing`: no limit). Each wait inside the library is
# at most `max_poll` seconds, starting with none and growing, and the task yields in between.
# Returns the envelope handle, or `nothing` on timeout. Throws `Closed` when the source has ended
# and the decoding error of a message that could not be decoded.
function _poll(poll, h::_Owned, roots, timeout, max_poll::Float64)
    deadline = timeout === nothing ? Inf : time() + Float64(timeout)
    slice = 0.0
    out = Ref{Ptr{Cvoid}}(C_NULL)
    while true
        wait_s = min(slice, max(deadline - time(), 0.0))
        rc = _with_handlers(!isempty(roots)) do
            _use(h) do p
                r = poll(p, _ms(wait_s), out)
                r == NB_OK || r == NB_ERR_TIMEOUT || _check_with(r, roots)
                r
            end
        end
        rc == NB_OK && return _own(out, :envelope)
        time() >= deadline && return nothing
        yield()
        slice = slice == 0.0 ? 0.001 : min(2 * slice, max_poll)
    end
end

"""
    NATSBridge.next(sub::Subscription; timeout = nothing) -> Union{Envelope,Nothing}

The next envelope of the subscription, waiting at most `timeout` seconds (`nothing`: no limit);
`nothing` when none came in time. Throws `Closed` when the subscription has ended, and the
decoding error of a message that could not be decoded (that message is consumed).
"""
function next(s::Subscription; timeout = nothing)
    h = _poll(nb_subscription_next, s.handle, s.roots, timeout, s.max_poll)
    h === nothing && return nothing
    return _received_envelope(h, s.table_format)
end

Base.IteratorSize(::Type{Subscription}) = Base.SizeUnknown()
Base.eltype(::Type{Subscription}) = Envelope

function Base.iterate(s::Subscription, state = nothing)
    while true
        env = try
            next(s)
        catch err
            err isa Closed && return nothing
            err isa NATSBridgeError || rethrow()
            s.on_error(err)
            continue
        end
        env === nothing || return (env, nothing)
    end
end

"""
    NATSBridge.unsubscribe(sub::Subscription)

No more messages arrive; iterating ends. Twice is fine.
"""
function unsubscribe(s::Subscription)
    _isopen(s.handle) || return nothing
    try
        _use(s.handle) do p
            _check(nb_subscription_unsubscribe(p))
        end
    catch err
        err isa Closed || rethrow()
    end
    return nothing
end

"""
    close(sub::Subscription)

Unsubscribes and frees the subscription (a task started by `subscribe(f, ...)` ends).
"""
function Base.close(s::Subscription)
    unsubscribe(s)
    _close(s.handle)
    return nothing
end

Base.isopen(s::Subscription) = _isopen(s.handle)

# ---------------------------------------------------------------------------------------------
# Request-reply

function _split_kw(kw)
    send_kw = _pick(kw, _SEND_KEYS)
    receive_kw = _pick(kw, _RECEIVE_KEYS)
    for k in keys(kw)
        (k in _SEND_KEYS || k in _RECEIVE_KEYS) || throw(InvalidArgument("unknown keyword argument `$(k)`"))
    end
    return send_kw, receive_kw
end

"""
    smartrequest(client, subject, data; timeout = 5.0, blocking = false, table_format = :dataframe,
                 <smartsend keywords>, <smartreceive keywords>) -> Envelope

Sends `data` (as `smartsend`) with `reply_to` set to a fresh inbox and returns the decoded reply.
Throws `Timeout` when no reply comes within `timeout` seconds and `NoResponders` when nobody
listens on `subject`. The wait polls from this task (other tasks, a responder on this thread
included, run meanwhile); `blocking = true` waits inside the library instead
(`nb_smartrequest`: this thread does nothing else until the reply or the timeout).
"""
function smartrequest(c::Client, subject::AbstractString, data; timeout::Real = 5.0, blocking::Bool = false,
                      table_format::Symbol = :dataframe, kw...)
    _check_table_format(table_format)
    send_kw, receive_kw = _split_kw(kw)
    haskey(send_kw, :timeout) && throw(InvalidArgument("smartrequest: `timeout` is the time to wait for the reply"))
    haskey(send_kw, :reply_to) && throw(InvalidArgument("smartrequest sets reply_to itself (a fresh inbox)"))
    blocking && return _blocking_request(c, String(subject), data, timeout, table_format, send_kw, receive_kw)
    inbox = "_INBOX." * replace(string(uuid4()), "-" => "")
    sub = subscribe(c, inbox; table_format, receive_kw...)
    try
        sopts = _send_options(; send_kw..., reply_to = inbox, is_publish = false)
        _, json = _smartsend(c, String(subject), data, sopts)
        publish(c, subject, json; reply = inbox)
        h = _poll(nb_subscription_next, sub.handle, sub.roots, timeout, sub.max_poll)
        h === nothing && throw(Timeout("no reply on $(repr(String(subject))) within $(timeout) s"))
        return _received_envelope(h, table_format)
    finally
        close(sub)
    end
end

function _blocking_request(c::Client, subject::String, data, timeout, table_format, send_kw, receive_kw)
    _with_options(_send_options(; send_kw...)) do sopts
        _with_options(_receive_options(; receive_kw...)) do ropts
            payloads = _payloads(data)
            try
                out = Ref{Ptr{Cvoid}}(C_NULL)
                roots = vcat(sopts.roots, ropts.roots)
                _with_handlers(!isempty(roots)) do
                    _use(c.handle) do cp
                        _use(payloads) do pl
                            _use_opt(sopts) do so
                                _use_opt(ropts) do ro
                                    GC.@preserve sopts ropts begin
                                        _check_with(nb_smartrequest(cp, subject, pl, so, ro, _ms(timeout), out), roots)
                                    end
                                end
                            end
                        end
                    end
                end
                h = _own(out, :envelope)
                h === nothing && throw(Internal("nb_smartrequest returned no envelope"))
                return _received_envelope(h, table_format)
            finally
                _close(payloads)
            end
        end
    end
end

"""
    NATSBridge.reply(client, env::Envelope, data; <smartsend keywords>) -> (env, env_json_str)

Answers a received envelope: sends `data` to its `reply_to`, with `reply_to_msg_id` set to its
`msg_id` and the same `correlation_id`. An envelope without `reply_to` is `InvalidArgument`.
"""
function reply(c::Client, to::Envelope, data; kw...)
    _reject_unknown(kw, _SEND_KEYS, "reply")
    h = getfield(to, :handle)
    if h === nothing || !_isopen(h)
        # The library's copy is gone (or this is a sent envelope): the same answer, built here.
        reply_to = get(to, "reply_to", "")
        isempty(reply_to) && throw(InvalidArgument("the envelope has no reply_to to answer"))
        return smartsend(c, reply_to, data; kw..., reply_to_msg_id = to["msg_id"],
                         correlation_id = to["correlation_id"])
    end
    _with_options(_send_options(; kw...)) do sopts
        payloads = _payloads(data)
        try
            sent = Ref{Ptr{Cvoid}}(C_NULL)
            _with_handlers(_has_handlers(sopts)) do
                _use(c.handle) do cp
                    _use(h) do ep
                        _use(payloads) do pl
                            _use_opt(sopts) do so
                                GC.@preserve sopts begin
                                    _check_with(nb_reply(cp, ep, pl, so, sent), sopts.roots)
                                end
                            end
                        end
                    end
                end
            end
            sh = _own(sent, :envelope)
            sh === nothing && throw(Internal("nb_reply returned no envelope"))
            return _sent_envelope(sh)
        finally
            _close(payloads)
        end
    end
end
