# One owned C handle (a client, options, a payload list, an envelope, a subscription, a
# consumer): freed by `close` or by its finalizer, whichever comes first, and never twice; never
# freed while a call that uses it is in flight (the library cannot detect a handle freed under
# a running call). Every use goes through `_use(f, h)`, which counts the call in and out; `close`
# marks the handle closing and the last call out frees it.

mutable struct _Owned
    @atomic ptr::Ptr{Cvoid}
    @atomic users::Int
    @atomic closing::Bool
    kind::Symbol
    function _Owned(ptr::Ptr{Cvoid}, kind::Symbol)
        h = new(ptr, 0, false, kind)
        finalizer(_finalize_owned, h)
        return h
    end
end

# The free function of each kind of handle (each takes the address of the handle and NULLs it).
function _free_ptr(kind::Symbol, p::Ptr{Cvoid})
    r = Ref{Ptr{Cvoid}}(p)
    if kind === :client
        nb_client_free(r)
    elseif kind === :envelope
        nb_envelope_free(r)
    elseif kind === :payloads
        nb_payloads_free(r)
    elseif kind === :send_options
        nb_send_options_free(r)
    elseif kind === :receive_options
        nb_receive_options_free(r)
    elseif kind === :connect_options
        nb_connect_options_free(r)
    elseif kind === :consumer_options
        nb_consumer_options_free(r)
    elseif kind === :subscription
        nb_subscription_free(r)
    elseif kind === :js_consumer
        nb_js_consumer_free(r)
    else
        error("NATSBridge: no free function for handle kind $(kind)")
    end
    return nothing
end

# Frees now (at most once: the pointer is swapped out atomically).
function _free_now(h::_Owned)
    p = @atomicswap h.ptr = C_NULL
    p == C_NULL || _free_ptr(h.kind, p)
    return nothing
end

# The finalizer: nothing can be using the handle any more (the object is unreachable).
_finalize_owned(h::_Owned) = _free_now(h)

# Runs `f(ptr)` with the handle counted as in use. Throws `Closed` when it has been closed.
function _use(f, h::_Owned)
    @atomic h.users += 1
    try
        p = @atomic h.ptr
        if p == C_NULL || (@atomic h.closing)
            throw(Closed("this $(_kind_name(h.kind)) has been closed"))
        end
        return f(p)
    finally
        left = (@atomic h.users -= 1)
        if left == 0 && (@atomic h.closing)
            _free_now(h)
        end
    end
end

# Marks the handle closing and frees it unless a call is using it (the last one out frees it).
function _close(h::_Owned)
    @atomic h.closing = true
    if (@atomic h.users) == 0
        _free_now(h)
    end
    return nothing
end

_isopen(h::_Owned) = !(@atomic h.closing) && (@atomic h.ptr) != C_NULL

function _kind_name(kind::Symbol)
    kind === :client && return "client"
    kind === :envelope && return "envelope"
    kind === :subscription && return "subscription"
    kind === :js_consumer && return "JetStream consumer"
    return replace(String(kind), "_" => " ")
end

# A new handle of `kind` made by `new_fn(out::Ref{Ptr{Cvoid}})` (an `nb_X_new`-style call).
function _new_owned(new_fn, kind::Symbol)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    _check(new_fn(out))
    out[] == C_NULL && throw(Internal("libnatsbridge returned no $(_kind_name(kind)) handle"))
    return _Owned(out[], kind)
end

# Takes ownership of a handle the library wrote to `out` (C_NULL gives `nothing`).
_own(out::Ref{Ptr{Cvoid}}, kind::Symbol) = out[] == C_NULL ? nothing : _Owned(out[], kind)

# A Julia string from a borrowed (pointer, length) pair ("" for NULL).
_string(p::Ptr{UInt8}, len::Integer) = p == C_NULL ? "" : unsafe_string(p, len)

# A copy of borrowed bytes (an empty vector for NULL / 0).
function _bytes(p::Ptr{UInt8}, len::Integer)
    v = Vector{UInt8}(undef, len)
    len > 0 && unsafe_copyto!(pointer(v), p, len)
    return v
end

# A Julia string from a string the library handed over (`char **` output), freed here.
function _take_string(p::Ref{Ptr{UInt8}}, len::Integer)
    s = _string(p[], len)
    nb_string_free(p)
    return s
end

# A copy of bytes the library handed over (`uint8_t **` output), freed here.
function _take_bytes(p::Ref{Ptr{UInt8}}, len::Integer)
    v = _bytes(p[], len)
    nb_bytes_free(p)
    return v
end

# Milliseconds for the C ABI from seconds (`nothing`: no limit, -1).
_ms(::Nothing) = Int64(-1)
function _ms(seconds::Real)
    seconds < 0 && return Int64(-1)
    isinf(seconds) && return Int64(-1)
    return Int64(round(seconds * 1000))
end
