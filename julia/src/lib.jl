# Finding and loading libnatsbridge, and resolving the C functions capi.jl calls.
#
# Where the library comes from, in order:
#   1. ENV["NATSBRIDGE_LIB"]: the path of the library file, or of a directory holding it;
#   2. the artifact `libnatsbridge` described by the package's Artifacts.toml (the layout a JLL
#      package gives: lib/libnatsbridge.so, lib/libnatsbridge.dylib or bin/natsbridge.dll);
#   3. otherwise the first call fails with `LibraryNotFound`, which says what to do.
# The library is loaded on first use (so `using NATSBridge` always works, and NATSBRIDGE_LIB can
# be set after it), once per process.

"""
    LibraryNotFound(message)

Thrown by the first call that needs libnatsbridge when it cannot be found or loaded. The
message says where the package looked and how to point it at a library.
"""
struct LibraryNotFound <: Exception
    message::String
end
Base.showerror(io::IO, e::LibraryNotFound) = print(io, "LibraryNotFound: ", e.message)

# Every C function capi.jl calls; resolved when the library is loaded. The contract test
# (julia/tools/check_contract.py) checks that this list is exactly the set of ccall'ed symbols.
const _NB_SYMBOLS = (
    :nb_bytes_free, :nb_string_free,
    :nb_client_connect, :nb_client_connect_url, :nb_client_close, :nb_client_free, :nb_client_flush,
    :nb_client_max_payload, :nb_client_publish, :nb_smartsend, :nb_smartrequest, :nb_reply,
    :nb_plik_upload, :nb_http_fetch,
    :nb_smartreceive, :nb_envelope_free, :nb_envelope_header, :nb_envelope_is_sent, :nb_envelope_json,
    :nb_envelope_to_json, :nb_envelope_payload_count, :nb_envelope_payload, :nb_envelope_payload_by_name,
    :nb_payload_name, :nb_payload_id, :nb_payload_type, :nb_payload_transport, :nb_payload_size,
    :nb_payload_metadata_json, :nb_payload_bytes, :nb_payload_text, :nb_payload_dictionary_json,
    :nb_payload_table_ipc, :nb_payload_table_shape, :nb_payload_in_file, :nb_payload_file_path,
    :nb_payload_url,
    :nb_last_error_message, :nb_last_error_code, :nb_result_name, :nb_version,
    :nb_out_set, :nb_out_append,
    :nb_jetstream_ensure_stream, :nb_jetstream_publish, :nb_jetstream_publish_json,
    :nb_consumer_options_new, :nb_consumer_options_free, :nb_consumer_options_set_filter_subject,
    :nb_consumer_options_set_ack_mode, :nb_consumer_options_set_ack_wait_ms,
    :nb_consumer_options_set_nak_delay_ms, :nb_consumer_options_set_max_deliver,
    :nb_js_consumer_new, :nb_js_consumer_next, :nb_js_consumer_free,
    :nb_envelope_ack, :nb_envelope_nak, :nb_envelope_delivered,
    :nb_connect_options_new, :nb_connect_options_free, :nb_connect_options_add_server,
    :nb_connect_options_set_name, :nb_connect_options_set_token, :nb_connect_options_set_user_password,
    :nb_connect_options_set_nkey_seed, :nb_connect_options_set_creds_file, :nb_connect_options_set_tls_ca,
    :nb_connect_options_set_tls_client_cert, :nb_connect_options_set_tls_required,
    :nb_connect_options_set_max_reconnects, :nb_connect_options_set_connect_timeout_ms,
    :nb_connect_options_set_retry_on_initial_connect,
    :nb_send_options_new, :nb_send_options_free, :nb_send_options_set_broker_url,
    :nb_send_options_set_fileserver_url, :nb_send_options_set_msg_purpose, :nb_send_options_set_sender_name,
    :nb_send_options_set_receiver_name, :nb_send_options_set_receiver_id, :nb_send_options_set_reply_to,
    :nb_send_options_set_reply_to_msg_id, :nb_send_options_set_correlation_id, :nb_send_options_set_msg_id,
    :nb_send_options_set_sender_id, :nb_send_options_set_size_threshold, :nb_send_options_set_is_publish,
    :nb_send_options_set_metadata_json, :nb_send_options_set_max_payload, :nb_send_options_set_timeout_ms,
    :nb_send_options_set_uploader, :nb_send_options_set_plik_uploader,
    :nb_receive_options_new, :nb_receive_options_free, :nb_receive_options_set_max_retries,
    :nb_receive_options_set_base_delay_ms, :nb_receive_options_set_max_delay_ms,
    :nb_receive_options_add_allowed_origin, :nb_receive_options_clear_allowed_origins,
    :nb_receive_options_set_max_in_memory, :nb_receive_options_set_save_dir,
    :nb_receive_options_set_timeout_ms, :nb_receive_options_set_downloader,
    :nb_receive_options_set_http_fetcher,
    :nb_payload_type_name, :nb_payload_type_from_name, :nb_payloads_new, :nb_payloads_free, :nb_payloads_len,
    :nb_payloads_clear, :nb_payloads_add_text, :nb_payloads_add_dictionary, :nb_payloads_add_table_ipc,
    :nb_payloads_add_bytes, :nb_payloads_add_file,
    :nb_subscribe, :nb_subscription_next, :nb_subscription_unsubscribe, :nb_subscription_free,
)

struct _Library
    path::String
    handle::Ptr{Cvoid}
    symbols::Dict{Symbol,Ptr{Cvoid}}
end

# Set once, on first use; reset by __init__ so that a value baked in at precompile time is never used.
const _LIBRARY = Ref{Union{Nothing,_Library}}(nothing)
const _LIBRARY_LOCK = ReentrantLock()

# The file name of the library on this platform (what cargo builds for the `natsbridge` cdylib).
function _library_filename()
    Sys.iswindows() && return "natsbridge.dll"
    Sys.isapple() && return "libnatsbridge.dylib"
    return "libnatsbridge.so"
end

# The library in an artifact directory laid out as a JLL package's (lib/ on Unix, bin/ on Windows).
_library_in_artifact(dir::AbstractString) = joinpath(dir, Sys.iswindows() ? "bin" : "lib", _library_filename())

const _ARTIFACTS_TOML = joinpath(dirname(@__DIR__), "Artifacts.toml")

# (path, nothing) when the artifact is installed, (nothing, why) when it is not usable.
function _artifact_library()
    isfile(_ARTIFACTS_TOML) || return (nothing, "no Artifacts.toml at $(_ARTIFACTS_TOML)")
    meta = try
        Artifacts.artifact_meta("libnatsbridge", _ARTIFACTS_TOML)
    catch err
        return (nothing, "Artifacts.toml at $(_ARTIFACTS_TOML) does not read: $(sprint(showerror, err))")
    end
    meta === nothing &&
        return (nothing, "Artifacts.toml has no `libnatsbridge` artifact for this platform ($(Base.BinaryPlatforms.triplet(Base.BinaryPlatforms.HostPlatform())))")
    hash = Base.SHA1(meta["git-tree-sha1"])
    Artifacts.artifact_exists(hash) ||
        return (nothing, "the `libnatsbridge` artifact $(meta["git-tree-sha1"]) is not installed " *
                         "(`using Pkg; Pkg.instantiate()` installs it when Artifacts.toml gives a download)")
    path = _library_in_artifact(Artifacts.artifact_path(hash))
    isfile(path) || return (nothing, "the `libnatsbridge` artifact has no $(path)")
    return (path, nothing)
end

"""
    NATSBridge.library_path() -> String

Where libnatsbridge is (or would be) loaded from: `ENV["NATSBRIDGE_LIB"]` (a file, or a directory
holding $(_library_filename())), else the `libnatsbridge` artifact. Throws `LibraryNotFound`, saying
what to do, when neither is there.
"""
function library_path()
    from_env = strip(get(ENV, "NATSBRIDGE_LIB", ""))
    if !isempty(from_env)
        path = isdir(from_env) ? joinpath(from_env, _library_filename()) : String(from_env)
        isfile(path) && return path
        throw(LibraryNotFound("NATSBRIDGE_LIB is set to $(repr(from_env)) but there is no library at $(repr(path)). " *
                              "Build it with `cargo build -p natsbridge-ffi` in the NATSBridge repository " *
                              "(it is then target/debug/$(_library_filename())) and point NATSBRIDGE_LIB at it."))
    end
    path, why = _artifact_library()
    path === nothing || return path
    throw(LibraryNotFound("cannot find libnatsbridge. Either set ENV[\"NATSBRIDGE_LIB\"] to the library " *
                          "($(_library_filename()), built by `cargo build -p natsbridge-ffi` in the NATSBridge " *
                          "repository: target/debug/ or target/release/) before the first NATSBridge call, " *
                          "or install the package with its `libnatsbridge` artifact (see julia/README.md). " *
                          "Artifact: $(why)."))
end

function _load_library()
    lock(_LIBRARY_LOCK) do
        lib = _LIBRARY[]
        lib === nothing || return lib
        path = library_path()
        handle = Libdl.dlopen(path, Libdl.RTLD_LAZY | Libdl.RTLD_LOCAL; throw_error = false)
        handle === nothing && throw(LibraryNotFound("cannot load $(repr(path)) (not a shared library for this platform?)"))
        symbols = Dict{Symbol,Ptr{Cvoid}}()
        missing_symbols = Symbol[]
        for name in _NB_SYMBOLS
            p = Libdl.dlsym(handle, name; throw_error = false)
            if p === nothing || p == C_NULL
                push!(missing_symbols, name)
            else
                symbols[name] = p
            end
        end
        if !isempty(missing_symbols)
            Libdl.dlclose(handle)
            throw(LibraryNotFound("$(repr(path)) lacks $(join(missing_symbols, ", ")): it is older (or newer) than " *
                                  "this NATSBridge.jl; rebuild libnatsbridge from the same NATSBridge version"))
        end
        lib = _Library(path, handle, symbols)
        _LIBRARY[] = lib
        return lib
    end
end

@inline function _library()
    lib = _LIBRARY[]
    lib === nothing ? _load_library() : lib
end

# The address of a C function of libnatsbridge (the first argument of every ccall in capi.jl).
_sym(name::Symbol) = _library().symbols[name]

"""
    NATSBridge.library_version() -> String

The version of the loaded libnatsbridge (e.g. `"0.1.0"`).
"""
library_version() = unsafe_string(nb_version())
