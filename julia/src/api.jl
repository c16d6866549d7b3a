# The seed's API: smartsend, smartreceive, plik_oneshot_upload, _fetch_with_backoff.

"""
    plik_oneshot_upload(fileserver_url, dataname, data) -> Dict{String,Any}

Uploads `data` (bytes) to a Plik-compatible file server (Plik itself, or the built-in
`natsbridge serve-files`) as a one-shot upload and returns the seed's answer:
`Dict("status" => 200, "uploadid" => ..., "fileid" => ..., "url" => ...)`, where `url` is where
the bytes can be fetched.

This is the default `fileserver_upload_handler` of `smartsend`; passed as such, the library runs
its own uploader (streaming, no call back into Julia). Throws `UploadFailed` when the server
cannot be reached or refuses the upload.
"""
function plik_oneshot_upload(fileserver_url::AbstractString, dataname::AbstractString, data)
    bytes = _binary_bytes(data)
    bytes === nothing && throw(InvalidArgument("data must be a Vector{UInt8}, got $(typeof(data))"))
    url = Ref{Ptr{UInt8}}(C_NULL)
    len = Ref{Csize_t}(0)
    _check(nb_plik_upload(String(fileserver_url), String(dataname), bytes, length(bytes), url, len))
    u = _take_string(url, len[])
    # `{fileserver_url}/file/{uploadId}/{fileId}/{fileName}`
    parts = split(u, '/')
    uploadid, fileid = length(parts) >= 4 ? (String(parts[end - 2]), String(parts[end - 1])) : ("", "")
    return Dict{String,Any}("status" => 200, "uploadid" => uploadid, "fileid" => fileid, "url" => u)
end

"""
    _fetch_with_backoff(url, max_retries = 5, base_delay = 100, max_delay = 5000, correlation_id = "") -> Vector{UInt8}

Downloads `url` with exponential backoff and jitter: `max_retries` attempts in all, waiting
`base_delay` ms doubling up to `max_delay` ms between them. Connection errors, timeouts, HTTP 5xx
and 429 are retried; 404 fails at once (`PayloadNotFound`); every attempt failing is
`DownloadFailed` (so is a URL that is not http(s): the origin and scheme checks, which make it
`OriginNotAllowed`, belong to `smartreceive`, before any handler runs). `correlation_id` is
accepted for the seed's call shape and unused.

This is the default `fileserver_download_handler` of `smartreceive`; passed as such, the library
fetches natively (streaming, checking size and digest) without calling back into Julia.
"""
function _fetch_with_backoff(url::AbstractString, max_retries::Integer = 5, base_delay::Integer = 100,
                             max_delay::Integer = 5000, correlation_id::AbstractString = "")
    _with_options(_receive_options(; max_retries, base_delay, max_delay)) do opts
        _use_opt(opts) do o
            data = Ref{Ptr{UInt8}}(C_NULL)
            len = Ref{Csize_t}(0)
            _check(nb_http_fetch(String(url), o, data, len))
            _take_bytes(data, len[])
        end
    end
end

# The client argument of a send (`nothing`: the library's connection for `broker_url`).
_client_arg(::Nothing) = nothing
_client_arg(c::Client) = c
_client_arg(x) = throw(InvalidArgument("NATS_connection must be a NATSBridge.Client (from NATSBridge.connect) or " *
                                       "nothing, got $(typeof(x)); NATS.jl connections cannot be shared with libnatsbridge"))

"""
    smartsend(subject, data; broker_url = "nats://localhost:4222", fileserver_url = "http://localhost:8080",
              fileserver_upload_handler = plik_oneshot_upload, size_threshold = 1_000_000,
              correlation_id = <new UUID>, msg_purpose = "chat", sender_name = "NATSBridge",
              receiver_name = "", receiver_id = "", reply_to = "", reply_to_msg_id = "",
              is_publish = true, NATS_connection = nothing, msg_id = <new UUID>, sender_id = <new UUID>,
              metadata = nothing, max_payload = nothing, timeout = nothing) -> (env, env_json_str)

Sends `data`, a vector of `(dataname, value, type)` tuples, to `subject` as one envelope.
Payloads of at least `size_threshold` serialized bytes are uploaded to the claim-check store at
`fileserver_url` with `fileserver_upload_handler` and travel as a URL (link); the others travel
inside the envelope (direct, base64). The envelope always fits the server's `max_payload`: while
it would not, the largest direct payload goes by link instead (or the call fails with
`EnvelopeTooLarge` / `UploadFailed` and nothing is published).

`fileserver_upload_handler(fileserver_url, dataname, bytes)` must return the URL (or a Dict with
`"url"`, as `plik_oneshot_upload` does); it runs on this task's thread. With `is_publish = false`
the envelope is only built (link payloads uploaded): publish `env_json_str` later (e.g.
`NATSBridge.publish(client, subject, env_json_str)`). `NATS_connection` is a `NATSBridge.Client`;
without one, the library keeps one connection per `broker_url`. `metadata`: the envelope's
metadata object; `max_payload`: a smaller envelope bound; `timeout`: seconds for the whole send.

Returns the envelope as sent (an `Envelope` with the wire form of each payload) and its JSON text.
"""
function smartsend(subject::AbstractString, data; NATS_connection = nothing, kw...)
    _reject_unknown(kw, _SEND_KEYS, "smartsend")
    client = _client_arg(NATS_connection)
    return _smartsend(client, String(subject), data, _send_options(; kw...))
end

"""
    smartsend(client::Client, subject, data; kwargs...) -> (env, env_json_str)

`smartsend` over this client (the same as `NATS_connection = client`).
"""
smartsend(client::Client, subject::AbstractString, data; kw...) =
    smartsend(subject, data; NATS_connection = client, kw...)

function _smartsend(client::Union{Nothing,Client}, subject::String, data, sopts::_Options)
    _with_options(sopts) do sopts
        payloads = _payloads(data)
        try
            sent = Ref{Ptr{Cvoid}}(C_NULL)
            _with_handlers(_has_handlers(sopts)) do
                _use_client(client) do c
                    _use(payloads) do pl
                        _use_opt(sopts) do so
                            GC.@preserve sopts begin
                                _check_with(nb_smartsend(c, subject, pl, so, sent), sopts.roots)
                            end
                        end
                    end
                end
            end
            h = _own(sent, :envelope)
            h === nothing && throw(Internal("nb_smartsend returned no envelope"))
            return _sent_envelope(h)
        finally
            _close(payloads)
        end
    end
end

# The bytes of what smartreceive is given.
_message_bytes(m::AbstractVector{UInt8}) = m isa Vector{UInt8} ? m : Vector{UInt8}(m)
_message_bytes(m::AbstractString) = Vector{UInt8}(codeunits(String(m)))
_message_bytes(m::IOBuffer) = take!(copy(m))
_message_bytes(m::IO) = read(m)
function _message_bytes(m)
    hasproperty(m, :payload) && return _message_bytes(getproperty(m, :payload))
    hasproperty(m, :data) && return _message_bytes(getproperty(m, :data))
    throw(InvalidArgument("smartreceive takes message bytes, a String, an Envelope from a NATSBridge " *
                          "subscription, or a message with a `payload` field; got $(typeof(m))"))
end

"""
    smartreceive(msg; fileserver_download_handler = _fetch_with_backoff, max_retries = 5,
                 base_delay = 100, max_delay = 5000, allowed_origins = nothing,
                 max_in_memory = nothing, save_dir = nothing, timeout = nothing,
                 table_format = :dataframe) -> Envelope

Decodes a NATSBridge message into its envelope, fetching link payloads from the claim-check store
(with `fileserver_download_handler(url, max_retries, base_delay, max_delay, correlation_id)`,
which must return the bytes; retries as the seed's, delays in ms). `msg` is the raw message bytes,
a `String`, an `Envelope` from a NATSBridge subscription (returned as it is: it was decoded
when it was taken), or any message with a `payload` field (a NATS.jl `Msg`, say).

`env["payloads"]` is a vector of `(dataname, data, type)` tuples: text is a `String`, a
dictionary a `Dict{String,Any}` (or `Vector{Any}` for a JSON array), a table a `DataFrame`
(an `Arrow.Table` with `table_format = :arrow`), the other types `Vector{UInt8}`.

Throws the engine's error kind: `InvalidEnvelope`, `UnknownPayloadType`, `BadEncoding`,
`SizeMismatch`, `DigestMismatch`, `OriginNotAllowed`, `PayloadNotFound`, `DownloadFailed`, ...
"""
function smartreceive(msg; table_format::Symbol = :dataframe, kw...)
    _reject_unknown(kw, _RECEIVE_KEYS, "smartreceive")
    msg isa Envelope && return msg
    bytes = _message_bytes(msg)
    _check_table_format(table_format)
    _with_options(_receive_options(; kw...)) do ropts
        out = Ref{Ptr{Cvoid}}(C_NULL)
        _with_handlers(_has_handlers(ropts)) do
            _use_opt(ropts) do ro
                GC.@preserve ropts bytes begin
                    _check_with(nb_smartreceive(bytes, length(bytes), ro, out), ropts.roots)
                end
            end
        end
        h = _own(out, :envelope)
        h === nothing && throw(Internal("nb_smartreceive returned no envelope"))
        return _received_envelope(h, table_format)
    end
end

_check_table_format(f::Symbol) =
    f in (:dataframe, :arrow) || throw(InvalidArgument("table_format must be :dataframe or :arrow, got $(repr(f))"))
