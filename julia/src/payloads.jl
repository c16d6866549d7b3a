# Julia values to the payload list the C ABI sends, and received payloads back to Julia values.
#
#   type          Julia value sent                                   received as
#   "text"        String (any AbstractString)                        String
#   "dictionary"  Dict, NamedTuple, any JSON object or array         Dict{String,Any} / Vector{Any}
#   "table"       DataFrame or any Tables.jl table (Arrow IPC        DataFrame (or Arrow.Table with
#                 stream, written by Arrow.jl), or IPC bytes         table_format = :arrow)
#   "image", "audio", "video", "binary"
#                 Vector{UInt8} (any AbstractVector{UInt8}),         Vector{UInt8}
#                 IOBuffer (its whole content), any other IO (read to its end)
#   any type      PayloadFile(path): the file's bytes, streamed      PayloadFile(path) when received
#                 to the store when it goes by link                  with `save_dir`

"""
    PayloadFile(path)

A payload whose serialized bytes are the contents of the file at `path`. As data in
`smartsend`, the file is read when sending and, when it goes by link, streamed to the store
(never held whole in memory). `smartreceive(...; save_dir = dir)` gives link payloads as
`PayloadFile`s of the files it saved them to.
"""
struct PayloadFile
    path::String
end
PayloadFile(path::AbstractString) = PayloadFile(String(path))
Base.read(f::PayloadFile) = read(f.path)

const PAYLOAD_TYPES = ("text", "dictionary", "table", "image", "audio", "video", "binary")

# The payload type code of a name, read as tolerantly as envelopes are ("arrowtable" is a table).
function _payload_type_code(name::AbstractString)
    out = Ref{Cint}(0)
    _check(nb_payload_type_from_name(String(name), out))
    return out[]
end

_payload_type_name(code::Integer) = 0 <= code < length(PAYLOAD_TYPES) ? PAYLOAD_TYPES[code + 1] : "unknown($(code))"

# Contiguous bytes of a binary value.
_binary_bytes(v::Vector{UInt8}) = v
_binary_bytes(v::AbstractVector{UInt8}) = Vector{UInt8}(v)
_binary_bytes(io::IOBuffer) = take!(copy(io))          # the whole content, whatever its position
_binary_bytes(io::IO) = read(io)
_binary_bytes(s::AbstractString) = Vector{UInt8}(codeunits(String(s)))
_binary_bytes(x) = nothing

# The Arrow IPC stream of a Tables.jl table.
function _table_ipc(table)
    io = IOBuffer()
    Arrow.write(io, table)
    return take!(io)
end

function _add_payload(p::Ptr{Cvoid}, i::Integer, dataname::String, value, type_name::String)
    code = _payload_type_code(type_name)
    what = "data[$(i)] ($(repr(dataname)), $(type_name))"
    if value isa PayloadFile
        return _check(nb_payloads_add_file(p, dataname, code, value.path))
    end
    if code == NB_PAYLOAD_TEXT
        if value isa AbstractString
            s = String(value)
            return _check(nb_payloads_add_text(p, dataname, s, sizeof(s)))
        elseif value isa AbstractVector{UInt8}
            b = _binary_bytes(value)
            return _check(nb_payloads_add_bytes(p, dataname, code, b, length(b)))
        end
        throw(InvalidArgument("$(what): a text payload must be a String, got $(typeof(value))"))
    elseif code == NB_PAYLOAD_DICTIONARY
        (value isa AbstractDict || value isa NamedTuple || value isa AbstractVector) ||
            throw(InvalidArgument("$(what): a dictionary payload must be a Dict, a NamedTuple or a vector " *
                                  "(a JSON object or array), got $(typeof(value))"))
        json = try
            JSON3.write(value)
        catch err
            throw(InvalidArgument("$(what): cannot be written as JSON: $(sprint(showerror, err))"))
        end
        return _check(nb_payloads_add_dictionary(p, dataname, json, sizeof(json)))
    elseif code == NB_PAYLOAD_TABLE
        ipc = if value isa AbstractVector{UInt8}
            _binary_bytes(value)                    # already an Arrow IPC stream
        elseif Tables.istable(value)
            try
                _table_ipc(value)
            catch err
                throw(InvalidArgument("$(what): Arrow.jl cannot write this table: $(sprint(showerror, err))"))
            end
        else
            throw(InvalidArgument("$(what): a table payload must be a DataFrame or a Tables.jl table, got $(typeof(value))"))
        end
        return _check(nb_payloads_add_table_ipc(p, dataname, ipc, length(ipc)))
    else
        b = _binary_bytes(value)
        b === nothing && throw(InvalidArgument("$(what): a $(type_name) payload must be a Vector{UInt8} or an IOBuffer, " *
                                               "got $(typeof(value))"))
        return _check(nb_payloads_add_bytes(p, dataname, code, b, length(b)))
    end
end

# `data`: a vector (or tuple) of `(dataname, value, type)` tuples, as the seed's smartsend takes.
function _payloads(data)
    if data isa Tuple && length(data) == 3 && data[1] isa AbstractString && data[3] isa AbstractString
        throw(InvalidArgument("data must be a vector of (dataname, value, type) tuples; " *
                              "wrap a single payload in a vector: [(dataname, value, type)]"))
    end
    (data isa AbstractVector || data isa Tuple) ||
        throw(InvalidArgument("data must be a vector of (dataname, value, type) tuples, got $(typeof(data))"))
    handle = _new_owned(nb_payloads_new, :payloads)
    try
        _use(handle) do p
            for (i, item) in enumerate(data)
                (item isa Tuple || item isa AbstractVector) && length(item) == 3 ||
                    throw(InvalidArgument("data[$(i)] must be a (dataname, value, type) tuple, got $(typeof(item))"))
                dataname, value, type_name = item
                dataname isa AbstractString ||
                    throw(InvalidArgument("data[$(i)]: dataname must be a String, got $(typeof(dataname))"))
                type_name isa Union{AbstractString,Symbol} ||
                    throw(InvalidArgument("data[$(i)]: type must be a String, got $(typeof(type_name))"))
                _add_payload(p, i, String(dataname), value, String(type_name))
            end
        end
    catch
        _close(handle)
        rethrow()
    end
    return handle
end

# ---------------------------------------------------------------------------------------------
# Received payloads

"""
    PayloadInfo

What an envelope says about one payload besides `(dataname, data, type)`: its `id`, how it
travelled (`transport`: `"direct"` or `"link"`), its serialized `size` in bytes, and its own
`metadata` (`nothing` when it has none). `NATSBridge.payload_info(env)` gives them in order.
"""
struct PayloadInfo
    id::String
    dataname::String
    type::String
    transport::String
    size::Int64
    metadata::Union{Nothing,Dict{String,Any}}
end

# A JSON value as plain Julia values: objects are Dict{String,Any}, arrays Vector{Any}, null nothing.
_plain(x::JSON3.Object) = Dict{String,Any}(String(k) => _plain(v) for (k, v) in pairs(x))
_plain(x::JSON3.Array) = Any[_plain(v) for v in x]
_plain(x::AbstractString) = String(x)
_plain(x) = x

_parse_json(text::AbstractString) = _plain(JSON3.read(text))

function _borrowed_string(f, payload::Ptr{Cvoid})
    s = Ref{Ptr{UInt8}}(C_NULL)
    n = Ref{Csize_t}(0)
    _check(f(payload, s, n))
    return _string(s[], n[])
end

function _borrowed_bytes(f, payload::Ptr{Cvoid})
    s = Ref{Ptr{UInt8}}(C_NULL)
    n = Ref{Csize_t}(0)
    _check(f(payload, s, n))
    return _bytes(s[], n[])
end

function _table_value(ipc::Vector{UInt8}, table_format::Symbol)
    t = Arrow.Table(ipc)
    table_format === :arrow && return t
    return DataFrame(t; copycols = true)
end

# (dataname, value, type) and the PayloadInfo of the payload at `payload` (borrowed from its envelope).
function _received_payload(payload::Ptr{Cvoid}, table_format::Symbol)
    name = _borrowed_string(nb_payload_name, payload)
    id = _borrowed_string(nb_payload_id, payload)
    code = Ref{Cint}(0)
    _check(nb_payload_type(payload, code))
    type_name = _payload_type_name(code[])
    transport = Ref{Cint}(0)
    _check(nb_payload_transport(payload, transport))
    size = Ref{UInt64}(0)
    _check(nb_payload_size(payload, size))
    meta_ptr = Ref{Ptr{UInt8}}(C_NULL)
    meta_len = Ref{Csize_t}(0)
    _check(nb_payload_metadata_json(payload, meta_ptr, meta_len))
    metadata = meta_ptr[] == C_NULL ? nothing : _parse_json(_string(meta_ptr[], meta_len[]))
    in_file = Ref{Bool}(false)
    _check(nb_payload_in_file(payload, in_file))
    value = if in_file[]
        PayloadFile(_borrowed_string(nb_payload_file_path, payload))
    elseif code[] == NB_PAYLOAD_TEXT
        _borrowed_string(nb_payload_text, payload)
    elseif code[] == NB_PAYLOAD_DICTIONARY
        _parse_json(_borrowed_string(nb_payload_dictionary_json, payload))
    elseif code[] == NB_PAYLOAD_TABLE
        _table_value(_borrowed_bytes(nb_payload_table_ipc, payload), table_format)
    else
        _borrowed_bytes(nb_payload_bytes, payload)
    end
    info = PayloadInfo(id, name, type_name, transport[] == NB_TRANSPORT_LINK ? "link" : "direct",
                       Int64(size[]), metadata)
    return (name, value, type_name), info
end
