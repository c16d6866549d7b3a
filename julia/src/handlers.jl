# Julia functions as the claim-check store's upload and download handlers.
#
# The C ABI takes a handler as a `{context, call, drop}` struct. `call` is a C function pointer
# made here with @cfunction (a trampoline, the same for every handler); `context` is the address
# of a `_HandlerBox` holding the Julia function. We pass `drop = NULL`: instead of being told when
# the library lets go of the handler, we keep the box reachable from every Julia object that owns
# a C handle holding it (the options it was set on, and the subscription or consumer that copied
# those options). Those C handles are freed only by `close` or by the finalizer of their Julia
# object, and the library never calls a handler after the last of them is freed; until then the
# box cannot be collected, so the context pointer stays valid.
#
# Threads: the library calls a handler on the thread that made the C call needing it
# (`nb_smartsend`, `nb_smartreceive`, `nb_subscription_next`, `nb_js_consumer_next`, ...); this
# package never uses the ABI's callback subscriptions, so Julia code never runs on a thread the
# library started. Calls that may run a Julia handler go through `_with_handlers`, which pins the
# task to its thread (a handler that waits on I/O lets other tasks run, but this one resumes on
# the same OS thread, inside the same C frames) and serializes such calls, so that two of them
# never interleave on one thread. A call made from inside a handler runs on a helper thread of the
# library (its nested-call rule), so a call needing a Julia handler is refused there.

mutable struct _HandlerBox
    f::Any                  # the user's function
    kind::Symbol            # :upload or :download
    error::Any              # the exception the last failing call threw (for `cause`), or nothing
end

const _HANDLER_LOCK = ReentrantLock()
# How many Julia handlers are running (they run one call at a time: under _HANDLER_LOCK).
const _HANDLER_DEPTH = Threads.Atomic{Int}(0)

function _with_handlers(f, has_handlers::Bool)
    has_handlers || return f()
    current_task().sticky = true
    lock(_HANDLER_LOCK) do
        # Holding the lock while a handler runs means this is a call made from inside that
        # handler. The library runs such nested calls on a helper thread of its own, so a Julia
        # handler of the nested call would run there: refuse. (Nested calls without Julia
        # handlers, e.g. plik_oneshot_upload or _fetch_with_backoff, are fine.)
        _HANDLER_DEPTH[] > 0 && throw(InvalidArgument(
            "a call that uses a Julia upload or download handler cannot be made from inside such a handler: " *
            "libnatsbridge would run the inner handler on a thread of its own, where Julia code must not run"))
        f()
    end
end

# Runs the user's function of a handler call, counted in _HANDLER_DEPTH.
function _run_handler(f, args...)
    Threads.atomic_add!(_HANDLER_DEPTH, 1)
    try
        return f(args...)
    finally
        Threads.atomic_sub!(_HANDLER_DEPTH, 1)
    end
end

# Writes `bytes` into a handler's output buffer.
function _out_set(out::Ptr{Cvoid}, bytes::AbstractVector{UInt8})
    v = bytes isa Vector{UInt8} ? bytes : Vector{UInt8}(bytes)
    return nb_out_set(out, v, length(v))
end
_out_set(out::Ptr{Cvoid}, s::AbstractString) = _out_set(out, codeunits(String(s)))

# The status a failing handler returns: an NATSBridgeError keeps its kind (a handler that wraps
# `plik_oneshot_upload` and rethrows its `UploadFailed`, say); anything else is NB_ERR_HANDLER.
_handler_status(err) = err isa NATSBridgeError ? Cint(err.code) : Cint(NB_ERR_HANDLER)

function _fail_handler(box::_HandlerBox, out::Ptr{Cvoid}, err)
    box.error = err
    message = try
        sprint(showerror, err)
    catch
        string(typeof(err))
    end
    try
        _out_set(out, message)          # best effort: nothing may be thrown back into the library
    catch
    end
    return _handler_status(err)
end

# What an upload handler answered: a URL, or a Dict / NamedTuple with a "url" (the seed's
# `plik_oneshot_upload` answers `Dict("status" => 200, "uploadid" => ..., "fileid" => ..., "url" => ...)`).
_upload_url(u::AbstractString) = String(u)
function _upload_url(d::AbstractDict)
    for k in ("url", :url)
        haskey(d, k) && d[k] isa AbstractString && return String(d[k])
    end
    throw(ArgumentError("the upload handler returned a dictionary without a \"url\" string"))
end
_upload_url(nt::NamedTuple) = haskey(nt, :url) ? _upload_url(nt.url) :
    throw(ArgumentError("the upload handler returned a NamedTuple without `url`"))
_upload_url(x) = throw(ArgumentError("the upload handler returned a $(typeof(x)); it must return a URL string " *
                                       "or a Dict with a \"url\" string"))

# What a download handler answered: the bytes.
_download_bytes(v::AbstractVector{UInt8}) = v
_download_bytes(s::AbstractString) = codeunits(String(s))
_download_bytes(io::IOBuffer) = take!(copy(io))
_download_bytes(x) = throw(ArgumentError("the download handler returned a $(typeof(x)); it must return a Vector{UInt8}"))

# The upload trampoline: C type `nb_result_t (*)(void *context, const char *fileserver_url,
# const char *dataname, const uint8_t *data, size_t len, nb_out_t *url_out)`.
function _upload_trampoline(context::Ptr{Cvoid}, fileserver_url::Cstring, dataname::Cstring,
                            data::Ptr{UInt8}, len::Csize_t, url_out::Ptr{Cvoid})::Cint
    box = unsafe_pointer_to_objref(context)::_HandlerBox
    try
        bytes = _bytes(data, len)                # the library's buffer lives only during this call
        answer = _run_handler(box.f, unsafe_string(fileserver_url), unsafe_string(dataname), bytes)
        rc = _out_set(url_out, _upload_url(answer))
        rc == NB_OK || return Cint(rc)
        box.error = nothing
        return Cint(NB_OK)
    catch err
        # Nothing may unwind into the library's frames: every exception becomes a status.
        return _fail_handler(box, url_out, err)
    end
end

# The download trampoline: C type `nb_result_t (*)(void *context, const char *url, uint64_t size,
# uint32_t max_retries, uint64_t base_delay_ms, uint64_t max_delay_ms, nb_out_t *bytes_out)`.
# The Julia handler is called as the seed calls it, `f(url, max_retries, base_delay, max_delay,
# correlation_id)` (the C ABI does not pass the correlation id: it is ""), or with the first four
# arguments only when it takes four.
function _download_trampoline(context::Ptr{Cvoid}, url::Cstring, size::UInt64, max_retries::UInt32,
                              base_delay_ms::UInt64, max_delay_ms::UInt64, bytes_out::Ptr{Cvoid})::Cint
    box = unsafe_pointer_to_objref(context)::_HandlerBox
    try
        u = unsafe_string(url)
        r, b, m = Int(max_retries), Int(base_delay_ms), Int(max_delay_ms)
        answer = if applicable(box.f, u, r, b, m, "")
            _run_handler(box.f, u, r, b, m, "")
        else
            _run_handler(box.f, u, r, b, m)
        end
        rc = _out_set(bytes_out, _download_bytes(answer))
        rc == NB_OK || return Cint(rc)
        box.error = nothing
        return Cint(NB_OK)
    catch err
        return _fail_handler(box, bytes_out, err)
    end
end

# The C structs for a Julia function. The box must be kept reachable (see the top of this file).
function _upload_handler_struct(box::_HandlerBox)
    return nb_upload_handler_t(
        pointer_from_objref(box),
        @cfunction(_upload_trampoline, Cint, (Ptr{Cvoid}, Cstring, Cstring, Ptr{UInt8}, Csize_t, Ptr{Cvoid})),
        C_NULL)
end

function _download_handler_struct(box::_HandlerBox)
    return nb_download_handler_t(
        pointer_from_objref(box),
        @cfunction(_download_trampoline, Cint, (Ptr{Cvoid}, Cstring, UInt64, UInt32, UInt64, UInt64, Ptr{Cvoid})),
        C_NULL)
end

# After a failing call whose options held Julia handlers: the Julia exception a handler threw,
# if any (it becomes the `cause` of the NATSBridgeError).
function _handler_cause(roots)
    for r in roots
        if r isa _HandlerBox && r.error !== nothing
            err = r.error
            r.error = nothing
            return err
        end
    end
    return nothing
end

# `_check` for calls that may have run Julia handlers: the error gets the handler's exception as cause.
function _check_with(rc::Integer, roots)
    rc == NB_OK && return nothing
    _throw_last(rc; cause = _handler_cause(roots))
end
