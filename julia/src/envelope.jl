# The envelope as Julia sees it: a read-only dictionary with the seed's keys.
#
# A received envelope (smartreceive, a subscription, a consumer, smartrequest) maps the 12 header
# strings, "metadata" (a Dict) and "payloads", a Vector of `(dataname, data, type)` tuples with
# each payload's data already a Julia value. A sent envelope (the first element of what
# smartsend returns) maps the same header keys and "payloads" as the wire form: Dicts with
# id, dataname, payload_type, transport, encoding, size, data (and sha256 on links).
# Header fields also read as properties: `env.reply_to == env["reply_to"]`.

const HEADER_FIELDS = ("correlation_id", "msg_id", "timestamp", "send_to", "msg_purpose", "sender_name",
                       "sender_id", "receiver_name", "receiver_id", "reply_to", "reply_to_msg_id", "broker_url")

"""
    Envelope <: AbstractDict{String,Any}

A NATSBridge envelope (see above). Besides the dictionary keys:
- `NATSBridge.payload_info(env)`: a `PayloadInfo` per payload (id, transport, size, metadata);
- `NATSBridge.canonical_json(env)`: the engine's canonical JSON of it (the golden vectors' form);
- for a JetStream delivery: `NATSBridge.ack!(env)`, `NATSBridge.nak!(env)`, `NATSBridge.delivered(env)`;
- `close(env)` frees the library's copy of it early (otherwise its finalizer does).
"""
struct Envelope <: AbstractDict{String,Any}
    fields::Dict{String,Any}
    info::Vector{PayloadInfo}
    sent::Bool
    handle::Union{Nothing,_Owned}
end

Base.length(e::Envelope) = length(getfield(e, :fields))
Base.iterate(e::Envelope, state...) = iterate(getfield(e, :fields), state...)
Base.getindex(e::Envelope, k::AbstractString) = getfield(e, :fields)[k]
Base.getindex(e::Envelope, k::Symbol) = getfield(e, :fields)[String(k)]
Base.get(e::Envelope, k::AbstractString, default) = get(getfield(e, :fields), k, default)
Base.get(e::Envelope, k::Symbol, default) = get(getfield(e, :fields), String(k), default)
Base.haskey(e::Envelope, k::AbstractString) = haskey(getfield(e, :fields), k)
Base.haskey(e::Envelope, k::Symbol) = haskey(getfield(e, :fields), String(k))
Base.keys(e::Envelope) = keys(getfield(e, :fields))
Base.values(e::Envelope) = values(getfield(e, :fields))

function Base.getproperty(e::Envelope, name::Symbol)
    fields = getfield(e, :fields)
    key = String(name)
    haskey(fields, key) && return fields[key]
    return getfield(e, name)
end
Base.propertynames(e::Envelope, private::Bool = false) =
    private ? (Symbol.(keys(getfield(e, :fields)))..., fieldnames(Envelope)...) : Tuple(Symbol.(keys(getfield(e, :fields))))

function Base.show(io::IO, e::Envelope)
    fields = getfield(e, :fields)
    print(io, getfield(e, :sent) ? "NATSBridge.Envelope(sent, " : "NATSBridge.Envelope(",
          "send_to=", repr(get(fields, "send_to", "")), ", msg_id=", repr(get(fields, "msg_id", "")),
          ", payloads=[")
    for (i, p) in enumerate(get(fields, "payloads", Any[]))
        i > 1 && print(io, ", ")
        if p isa Tuple
            print(io, "(", repr(p[1]), ", ", summary(p[2]), ", ", repr(p[3]), ")")
        else
            print(io, repr(get(p, "dataname", "")), " (", get(p, "transport", ""), ")")
        end
    end
    print(io, "])")
end

"""
    NATSBridge.payload_info(env::Envelope) -> Vector{PayloadInfo}
"""
payload_info(e::Envelope) = getfield(e, :info)

"""
    close(env::Envelope)

Frees the library's copy of a received envelope now instead of at garbage collection. After
this, `reply`, `ack!` and `nak!` with it fail with `Closed`; the Julia values stay.
"""
Base.close(e::Envelope) = (h = getfield(e, :handle); h === nothing || _close(h); nothing)

# The header of an envelope handle.
function _header_fields(p::Ptr{Cvoid})
    fields = Dict{String,Any}()
    value = Ref{Ptr{UInt8}}(C_NULL)
    len = Ref{Csize_t}(0)
    for f in HEADER_FIELDS
        _check(nb_envelope_header(p, f, value, len))
        fields[f] = _string(value[], len[])
    end
    _check(nb_envelope_header(p, "metadata", value, len))
    fields["metadata"] = _parse_json(_string(value[], len[]))
    return fields
end

# A received envelope from its handle (which it keeps, for reply / ack / nak, when `keep`).
function _received_envelope(h::_Owned, table_format::Symbol; keep::Bool = true)
    env = try
        _use(h) do p
            fields = _header_fields(p)
            count = Ref{Csize_t}(0)
            _check(nb_envelope_payload_count(p, count))
            payloads = Vector{Tuple{String,Any,String}}(undef, count[])
            info = Vector{PayloadInfo}(undef, count[])
            payload = Ref{Ptr{Cvoid}}(C_NULL)
            for i in 1:count[]
                _check(nb_envelope_payload(p, i - 1, payload))
                payloads[i], info[i] = _received_payload(payload[], table_format)
            end
            fields["payloads"] = payloads
            Envelope(fields, info, false, keep ? h : nothing)
        end
    catch
        _close(h)
        rethrow()
    end
    keep || _close(h)
    return env
end

# The JSON text a sent envelope travels as.
function _sent_json(p::Ptr{Cvoid})
    json = Ref{Ptr{UInt8}}(C_NULL)
    len = Ref{Csize_t}(0)
    _check(nb_envelope_json(p, json, len))
    return _string(json[], len[])
end

# `(env, env_json_str)` of a sent envelope handle (freed here: everything is in the JSON).
function _sent_envelope(h::_Owned)
    json = try
        _use(_sent_json, h)
    finally
        _close(h)
    end
    return _sent_from_json(json), json
end

function _sent_from_json(json::AbstractString)
    fields = _parse_json(json)::Dict{String,Any}
    for f in HEADER_FIELDS
        haskey(fields, f) || (fields[f] = "")
    end
    haskey(fields, "metadata") || (fields["metadata"] = Dict{String,Any}())
    payloads = get(fields, "payloads", Any[])
    info = PayloadInfo[PayloadInfo(String(get(p, "id", "")), String(get(p, "dataname", "")),
                                   String(get(p, "payload_type", "")), String(get(p, "transport", "")),
                                   Int64(get(p, "size", 0)), get(p, "metadata", nothing)) for p in payloads]
    return Envelope(fields, info, true, nothing)
end

"""
    NATSBridge.canonical_json(env::Envelope) -> String

The engine's canonical JSON of a received envelope (`nb_envelope_to_json`): the form of the golden
vectors' `*.expected.json` files. Needs the library's copy (not closed).
"""
function canonical_json(e::Envelope)
    h = getfield(e, :handle)
    h === nothing && throw(Closed("the envelope's library copy has been freed"))
    return _use(h) do p
        json = Ref{Ptr{UInt8}}(C_NULL)
        len = Ref{Csize_t}(0)
        _check(nb_envelope_to_json(p, json, len))
        _take_string(json, len[])
    end
end
