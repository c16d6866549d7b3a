# Options of sending, receiving, connecting and consuming, built from keyword arguments with the
# seed's names and defaults. Each is a C handle plus the Julia objects (handler boxes) it holds;
# the functions that use them copy what they need, so they are closed right after the call.

const DEFAULT_BROKER_URL = "nats://localhost:4222"
const DEFAULT_FILESERVER_URL = "http://localhost:8080"
const DEFAULT_SIZE_THRESHOLD = 1_000_000

struct _Options
    handle::_Owned
    roots::Vector{Any}          # handler boxes the C options point to
end

Base.close(o::_Options) = _close(o.handle)
_has_handlers(o::_Options) = !isempty(o.roots)
_has_handlers(::Nothing) = false

# Runs `f(ptr)` on options; `nothing` stands for the library's defaults (NULL).
_use_opt(f, o::_Options) = _use(f, o.handle)
_use_opt(f, ::Nothing) = f(C_NULL)

# Runs `f(options)` and closes the options afterwards.
function _with_options(f, o)
    try
        return f(o)
    finally
        o === nothing || close(o)
    end
end

function _string_arg(name::AbstractString, v)
    v isa AbstractString || throw(InvalidArgument("$(name) must be a String, got $(typeof(v))"))
    return String(v)
end
_opt_string_arg(name, v) = v === nothing ? nothing : _string_arg(name, v)

function _uint_arg(name::AbstractString, v, T::Type{<:Unsigned} = UInt64)
    v isa Integer || throw(InvalidArgument("$(name) must be an integer, got $(typeof(v))"))
    (v < 0 || v > typemax(T)) && throw(InvalidArgument("$(name) must be between 0 and $(typemax(T)), got $(v)"))
    return T(v)
end

_json_object_text(name, v::AbstractString) = String(v)
function _json_object_text(name, v)
    (v isa AbstractDict || v isa NamedTuple) ||
        throw(InvalidArgument("$(name) must be a Dict or a NamedTuple (a JSON object), got $(typeof(v))"))
    return JSON3.write(v)
end

_is_default_uploader(h) = h === plik_oneshot_upload || h === nothing
_is_default_downloader(h) = h === _fetch_with_backoff || h === nothing

"""
Send options with the seed's names. `correlation_id`, `msg_id` and `sender_id` default to a new
UUID v4 per message (made by the library); `timeout` (seconds) bounds the whole send.
"""
function _send_options(; broker_url = DEFAULT_BROKER_URL,
                       fileserver_url = DEFAULT_FILESERVER_URL,
                       fileserver_upload_handler = plik_oneshot_upload,
                       size_threshold = DEFAULT_SIZE_THRESHOLD,
                       correlation_id = nothing,
                       msg_purpose = "chat",
                       sender_name = "NATSBridge",
                       receiver_name = "",
                       receiver_id = "",
                       reply_to = "",
                       reply_to_msg_id = "",
                       is_publish = true,
                       msg_id = nothing,
                       sender_id = nothing,
                       metadata = nothing,
                       max_payload = nothing,
                       timeout = nothing)
    handle = _new_owned(nb_send_options_new, :send_options)
    roots = Any[]
    opts = _Options(handle, roots)
    try
        _use(handle) do p
            _check(nb_send_options_set_broker_url(p, _string_arg("broker_url", broker_url)))
            _check(nb_send_options_set_fileserver_url(p, _string_arg("fileserver_url", fileserver_url)))
            _check(nb_send_options_set_size_threshold(p, _uint_arg("size_threshold", size_threshold)))
            _check(nb_send_options_set_msg_purpose(p, _string_arg("msg_purpose", msg_purpose)))
            _check(nb_send_options_set_sender_name(p, _string_arg("sender_name", sender_name)))
            _check(nb_send_options_set_receiver_name(p, _string_arg("receiver_name", receiver_name)))
            _check(nb_send_options_set_receiver_id(p, _string_arg("receiver_id", receiver_id)))
            _check(nb_send_options_set_reply_to(p, _string_arg("reply_to", reply_to)))
            _check(nb_send_options_set_reply_to_msg_id(p, _string_arg("reply_to_msg_id", reply_to_msg_id)))
            v = _opt_string_arg("correlation_id", correlation_id)
            _check(nb_send_options_set_correlation_id(p, v === nothing ? C_NULL : v))
            v = _opt_string_arg("msg_id", msg_id)
            _check(nb_send_options_set_msg_id(p, v === nothing ? C_NULL : v))
            v = _opt_string_arg("sender_id", sender_id)
            _check(nb_send_options_set_sender_id(p, v === nothing ? C_NULL : v))
            is_publish isa Bool || throw(InvalidArgument("is_publish must be a Bool, got $(typeof(is_publish))"))
            _check(nb_send_options_set_is_publish(p, is_publish))
            if metadata !== nothing
                json = _json_object_text("metadata", metadata)
                _check(nb_send_options_set_metadata_json(p, json, sizeof(json)))
            end
            if max_payload !== nothing
                _check(nb_send_options_set_max_payload(p, _uint_arg("max_payload", max_payload, Csize_t)))
            end
            timeout === nothing || _check(nb_send_options_set_timeout_ms(p, _ms(timeout)))
            if !_is_default_uploader(fileserver_upload_handler)
                fileserver_upload_handler isa Base.Callable ||
                    throw(InvalidArgument("fileserver_upload_handler must be a function, got $(typeof(fileserver_upload_handler))"))
                box = _HandlerBox(fileserver_upload_handler, :upload, nothing)
                push!(roots, box)
                GC.@preserve box begin
                    _check(nb_send_options_set_uploader(p, _upload_handler_struct(box)))
                end
            end
        end
    catch
        close(opts)
        rethrow()
    end
    return opts
end

# Splits the keyword arguments of a call into those of the send options and the rest.
const _SEND_KEYS = (:broker_url, :fileserver_url, :fileserver_upload_handler, :size_threshold, :correlation_id,
                    :msg_purpose, :sender_name, :receiver_name, :receiver_id, :reply_to, :reply_to_msg_id,
                    :is_publish, :msg_id, :sender_id, :metadata, :max_payload, :timeout)
const _RECEIVE_KEYS = (:fileserver_download_handler, :max_retries, :base_delay, :max_delay, :allowed_origins,
                       :max_in_memory, :save_dir, :timeout)

"""
Receive options with the seed's names: retry settings of link downloads (`max_retries`
attempts in all, `base_delay` ms doubling up to `max_delay` ms), plus `allowed_origins` (only
fetch link URLs from these `http://host:port` origins), `max_in_memory` (bytes), `save_dir`
(stream link payloads into files there) and `timeout` (seconds, per receive).
"""
function _receive_options(; fileserver_download_handler = _fetch_with_backoff,
                          max_retries = 5,
                          base_delay = 100,
                          max_delay = 5000,
                          allowed_origins = nothing,
                          max_in_memory = nothing,
                          save_dir = nothing,
                          timeout = nothing)
    handle = _new_owned(nb_receive_options_new, :receive_options)
    roots = Any[]
    opts = _Options(handle, roots)
    try
        _use(handle) do p
            _check(nb_receive_options_set_max_retries(p, _uint_arg("max_retries", max_retries, UInt32)))
            _check(nb_receive_options_set_base_delay_ms(p, _uint_arg("base_delay", base_delay)))
            _check(nb_receive_options_set_max_delay_ms(p, _uint_arg("max_delay", max_delay)))
            if allowed_origins !== nothing
                origins = allowed_origins isa AbstractString ? [allowed_origins] : allowed_origins
                _check(nb_receive_options_clear_allowed_origins(p))
                for o in origins
                    _check(nb_receive_options_add_allowed_origin(p, _string_arg("allowed_origins", o)))
                end
            end
            max_in_memory === nothing ||
                _check(nb_receive_options_set_max_in_memory(p, _uint_arg("max_in_memory", max_in_memory)))
            save_dir === nothing || _check(nb_receive_options_set_save_dir(p, _string_arg("save_dir", string(save_dir))))
            timeout === nothing || _check(nb_receive_options_set_timeout_ms(p, _ms(timeout)))
            if !_is_default_downloader(fileserver_download_handler)
                fileserver_download_handler isa Base.Callable ||
                    throw(InvalidArgument("fileserver_download_handler must be a function, got $(typeof(fileserver_download_handler))"))
                box = _HandlerBox(fileserver_download_handler, :download, nothing)
                push!(roots, box)
                GC.@preserve box begin
                    _check(nb_receive_options_set_downloader(p, _download_handler_struct(box)))
                end
            end
        end
    catch
        close(opts)
        rethrow()
    end
    return opts
end

# Connect options. `servers`: one URL, several separated by commas, or a vector of URLs.
function _connect_options(servers; name = nothing, token = nothing, user = nothing, password = nothing,
                          nkey_seed = nothing, creds_file = nothing, tls_ca = nothing, tls_cert = nothing,
                          tls_key = nothing, tls_required = false, max_reconnects = 60, connect_timeout = 5.0,
                          retry_on_initial_connect = false)
    urls = servers isa AbstractString ? [String(servers)] : [_string_arg("servers", s) for s in servers]
    isempty(urls) && throw(InvalidArgument("servers is empty"))
    handle = _new_owned(out -> nb_connect_options_new(urls[1], out), :connect_options)
    opts = _Options(handle, Any[])
    try
        _use(handle) do p
            for u in urls[2:end]
                _check(nb_connect_options_add_server(p, u))
            end
            name === nothing || _check(nb_connect_options_set_name(p, _string_arg("name", name)))
            token === nothing || _check(nb_connect_options_set_token(p, _string_arg("token", token)))
            if user !== nothing || password !== nothing
                _check(nb_connect_options_set_user_password(p, _string_arg("user", user), _string_arg("password", password)))
            end
            nkey_seed === nothing || _check(nb_connect_options_set_nkey_seed(p, _string_arg("nkey_seed", nkey_seed)))
            creds_file === nothing || _check(nb_connect_options_set_creds_file(p, _string_arg("creds_file", string(creds_file))))
            tls_ca === nothing || _check(nb_connect_options_set_tls_ca(p, _string_arg("tls_ca", string(tls_ca))))
            if tls_cert !== nothing || tls_key !== nothing
                _check(nb_connect_options_set_tls_client_cert(p, _string_arg("tls_cert", string(tls_cert)),
                                                              _string_arg("tls_key", string(tls_key))))
            end
            tls_required isa Bool || throw(InvalidArgument("tls_required must be a Bool"))
            _check(nb_connect_options_set_tls_required(p, tls_required))
            max_reconnects isa Integer || throw(InvalidArgument("max_reconnects must be an integer"))
            _check(nb_connect_options_set_max_reconnects(p, Int64(max_reconnects)))
            ms = _ms(connect_timeout)
            ms > 0 || throw(InvalidArgument("connect_timeout must be > 0 seconds"))
            _check(nb_connect_options_set_connect_timeout_ms(p, UInt64(ms)))
            retry_on_initial_connect isa Bool || throw(InvalidArgument("retry_on_initial_connect must be a Bool"))
            _check(nb_connect_options_set_retry_on_initial_connect(p, retry_on_initial_connect))
        end
    catch
        close(opts)
        rethrow()
    end
    return opts
end

# Options of a durable JetStream consumer. `ack`: :auto (the library acks each envelope once it is
# received completely) or :manual (`ack!` / `nak!`); `ack_wait` and `nak_delay` in seconds.
function _consumer_options(; filter_subject = nothing, ack = :auto, ack_wait = 30.0, nak_delay = 1.0, max_deliver = -1)
    handle = _new_owned(nb_consumer_options_new, :consumer_options)
    opts = _Options(handle, Any[])
    try
        _use(handle) do p
            filter_subject === nothing ||
                _check(nb_consumer_options_set_filter_subject(p, _string_arg("filter_subject", filter_subject)))
            mode = Symbol(ack)
            mode in (:auto, :manual) || throw(InvalidArgument("ack must be :auto or :manual, got $(repr(ack))"))
            _check(nb_consumer_options_set_ack_mode(p, Cint(mode === :auto ? NB_ACK_AUTO : NB_ACK_MANUAL)))
            wait_ms = _ms(ack_wait)
            wait_ms > 0 || throw(InvalidArgument("ack_wait must be > 0 seconds"))
            _check(nb_consumer_options_set_ack_wait_ms(p, UInt64(wait_ms)))
            _check(nb_consumer_options_set_nak_delay_ms(p, UInt64(max(_ms(nak_delay), 0))))
            max_deliver isa Integer || throw(InvalidArgument("max_deliver must be an integer"))
            _check(nb_consumer_options_set_max_deliver(p, Int64(max_deliver)))
        end
    catch
        close(opts)
        rethrow()
    end
    return opts
end

# Keyword arguments `kw` restricted to `keys`.
_pick(kw, keys) = merge(NamedTuple(), (k => v for (k, v) in pairs(kw) if k in keys))

function _reject_unknown(kw, allowed, what)
    for k in keys(kw)
        k in allowed || throw(InvalidArgument("$(what) has no keyword argument `$(k)`"))
    end
end
