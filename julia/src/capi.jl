# The C ABI of libnatsbridge (include/natsbridge.h), one Julia function per C function, with the
# same name and the same arguments. Nothing here converts or checks anything: each function is
# one `ccall` and returns what the C function returns (an `nb_result_t` status for almost all of
# them). The layers above (options.jl, payloads.jl, envelope.jl, client.jl, ...) turn statuses
# into exceptions and Julia values into C arguments.
#
# Type mapping (checked against the header by julia/tools/check_contract.py, run by
# `make test-julia`):
#   nb_result_t, nb_payload_type_t, nb_transport_t, nb_ack_mode_t (int32_t)  Cint
#   int64_t / uint64_t / uint32_t / size_t / bool      Int64 / UInt64 / UInt32 / Csize_t / Bool
#   const char * (NUL-terminated)                      Cstring
#   const char * with an explicit length, uint8_t *    Ptr{UInt8}
#   struct nb_X_t * (opaque handles)                   Ptr{Cvoid}
#   T ** and T * outputs                               Ref{...} (always given, never NULL)
#   nb_upload_handler_t, nb_download_handler_t         the isbits structs below, by value
#
# Every symbol used here is listed in `_NB_SYMBOLS` (lib.jl), which is resolved once when the
# library is loaded; a library without one of them is refused with a clear message.

# ---------------------------------------------------------------------------------------------
# Constants (the header's #defines)

const NB_OK = 0
const NB_ERR_INVALID_ENVELOPE = 1
const NB_ERR_UNKNOWN_PAYLOAD_TYPE = 2
const NB_ERR_BAD_ENCODING = 3
const NB_ERR_SIZE_MISMATCH = 4
const NB_ERR_DIGEST_MISMATCH = 5
const NB_ERR_ENVELOPE_TOO_LARGE = 6
const NB_ERR_UPLOAD_FAILED = 7
const NB_ERR_DOWNLOAD_FAILED = 8
const NB_ERR_PAYLOAD_NOT_FOUND = 9
const NB_ERR_ORIGIN_NOT_ALLOWED = 10
const NB_ERR_PAYLOAD_TOO_LARGE = 11
const NB_ERR_CONNECTION = 12
const NB_ERR_TIMEOUT = 13
const NB_ERR_INVALID_ARGUMENT = 14
const NB_ERR_JETSTREAM = 15
const NB_ERR_IO = 16
const NB_ERR_CLOSED = 17
const NB_ERR_NO_RESPONDERS = 18
const NB_ERR_HANDLER = 19
const NB_ERR_PUBLISH = 20
const NB_ERR_INTERNAL = 21

const NB_ACK_AUTO = 0
const NB_ACK_MANUAL = 1

const NB_PAYLOAD_TEXT = 0
const NB_PAYLOAD_DICTIONARY = 1
const NB_PAYLOAD_TABLE = 2
const NB_PAYLOAD_IMAGE = 3
const NB_PAYLOAD_AUDIO = 4
const NB_PAYLOAD_VIDEO = 5
const NB_PAYLOAD_BINARY = 6

const NB_TRANSPORT_DIRECT = 0
const NB_TRANSPORT_LINK = 1

# ---------------------------------------------------------------------------------------------
# Callback structs, passed by value. `call` and `drop` are C function pointers (made with
# @cfunction in handlers.jl); `context` is the address of a Julia object kept alive by the
# options (and by whatever copied them) for as long as the library may call it.

"""
    nb_upload_handler_t(context, call, drop)

The C struct `nb_upload_handler_t` (`{context, call, drop}`): `call` has the C type
`nb_result_t (*)(void *context, const char *fileserver_url, const char *dataname,
const uint8_t *data, size_t len, nb_out_t *url_out)`.
"""
struct nb_upload_handler_t
    context::Ptr{Cvoid}
    call::Ptr{Cvoid}
    drop::Ptr{Cvoid}
end

"""
    nb_download_handler_t(context, call, drop)

The C struct `nb_download_handler_t`: `call` has the C type `nb_result_t (*)(void *context,
const char *url, uint64_t size, uint32_t max_retries, uint64_t base_delay_ms,
uint64_t max_delay_ms, nb_out_t *bytes_out)`.
"""
struct nb_download_handler_t
    context::Ptr{Cvoid}
    call::Ptr{Cvoid}
    drop::Ptr{Cvoid}
end

# ---------------------------------------------------------------------------------------------
# Memory the library hands out

nb_bytes_free(bytes::Ref{Ptr{UInt8}}) =
    ccall(_sym(:nb_bytes_free), Cvoid, (Ref{Ptr{UInt8}},), bytes)

nb_string_free(string::Ref{Ptr{UInt8}}) =
    ccall(_sym(:nb_string_free), Cvoid, (Ref{Ptr{UInt8}},), string)

# ---------------------------------------------------------------------------------------------
# Client

nb_client_connect(options, client) =
    ccall(_sym(:nb_client_connect), Cint, (Ptr{Cvoid}, Ref{Ptr{Cvoid}}), options, client)

nb_client_connect_url(servers, client) =
    ccall(_sym(:nb_client_connect_url), Cint, (Cstring, Ref{Ptr{Cvoid}}), servers, client)

nb_client_close(client) =
    ccall(_sym(:nb_client_close), Cint, (Ptr{Cvoid},), client)

nb_client_free(client) =
    ccall(_sym(:nb_client_free), Cvoid, (Ref{Ptr{Cvoid}},), client)

nb_client_flush(client, timeout_ms) =
    ccall(_sym(:nb_client_flush), Cint, (Ptr{Cvoid}, Int64), client, timeout_ms)

nb_client_max_payload(client, max_payload) =
    ccall(_sym(:nb_client_max_payload), Cint, (Ptr{Cvoid}, Ref{Csize_t}), client, max_payload)

nb_client_publish(client, subject, data, len, reply) =
    ccall(_sym(:nb_client_publish), Cint, (Ptr{Cvoid}, Cstring, Ptr{UInt8}, Csize_t, Cstring),
          client, subject, data, len, reply)

nb_smartsend(client, subject, payloads, options, sent) =
    ccall(_sym(:nb_smartsend), Cint, (Ptr{Cvoid}, Cstring, Ptr{Cvoid}, Ptr{Cvoid}, Ref{Ptr{Cvoid}}),
          client, subject, payloads, options, sent)

nb_smartrequest(client, subject, payloads, send_options, receive_options, timeout_ms, reply) =
    ccall(_sym(:nb_smartrequest), Cint,
          (Ptr{Cvoid}, Cstring, Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}, Int64, Ref{Ptr{Cvoid}}),
          client, subject, payloads, send_options, receive_options, timeout_ms, reply)

nb_reply(client, to, payloads, options, sent) =
    ccall(_sym(:nb_reply), Cint, (Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}, Ref{Ptr{Cvoid}}),
          client, to, payloads, options, sent)

nb_plik_upload(fileserver_url, dataname, data, len, url, url_len) =
    ccall(_sym(:nb_plik_upload), Cint,
          (Cstring, Cstring, Ptr{UInt8}, Csize_t, Ref{Ptr{UInt8}}, Ref{Csize_t}),
          fileserver_url, dataname, data, len, url, url_len)

nb_http_fetch(url, options, data, len) =
    ccall(_sym(:nb_http_fetch), Cint, (Cstring, Ptr{Cvoid}, Ref{Ptr{UInt8}}, Ref{Csize_t}),
          url, options, data, len)

# ---------------------------------------------------------------------------------------------
# Envelopes and payloads

nb_smartreceive(message, len, options, envelope) =
    ccall(_sym(:nb_smartreceive), Cint, (Ptr{UInt8}, Csize_t, Ptr{Cvoid}, Ref{Ptr{Cvoid}}),
          message, len, options, envelope)

nb_envelope_free(envelope) =
    ccall(_sym(:nb_envelope_free), Cvoid, (Ref{Ptr{Cvoid}},), envelope)

nb_envelope_header(envelope, field, value, len) =
    ccall(_sym(:nb_envelope_header), Cint, (Ptr{Cvoid}, Cstring, Ref{Ptr{UInt8}}, Ref{Csize_t}),
          envelope, field, value, len)

nb_envelope_is_sent(envelope, is_sent) =
    ccall(_sym(:nb_envelope_is_sent), Cint, (Ptr{Cvoid}, Ref{Bool}), envelope, is_sent)

nb_envelope_json(envelope, json, len) =
    ccall(_sym(:nb_envelope_json), Cint, (Ptr{Cvoid}, Ref{Ptr{UInt8}}, Ref{Csize_t}), envelope, json, len)

nb_envelope_to_json(envelope, json, len) =
    ccall(_sym(:nb_envelope_to_json), Cint, (Ptr{Cvoid}, Ref{Ptr{UInt8}}, Ref{Csize_t}), envelope, json, len)

nb_envelope_payload_count(envelope, count) =
    ccall(_sym(:nb_envelope_payload_count), Cint, (Ptr{Cvoid}, Ref{Csize_t}), envelope, count)

nb_envelope_payload(envelope, index, payload) =
    ccall(_sym(:nb_envelope_payload), Cint, (Ptr{Cvoid}, Csize_t, Ref{Ptr{Cvoid}}), envelope, index, payload)

nb_envelope_payload_by_name(envelope, dataname, payload) =
    ccall(_sym(:nb_envelope_payload_by_name), Cint, (Ptr{Cvoid}, Cstring, Ref{Ptr{Cvoid}}),
          envelope, dataname, payload)

nb_payload_name(payload, name, len) =
    ccall(_sym(:nb_payload_name), Cint, (Ptr{Cvoid}, Ref{Ptr{UInt8}}, Ref{Csize_t}), payload, name, len)

nb_payload_id(payload, id, len) =
    ccall(_sym(:nb_payload_id), Cint, (Ptr{Cvoid}, Ref{Ptr{UInt8}}, Ref{Csize_t}), payload, id, len)

nb_payload_type(payload, payload_type) =
    ccall(_sym(:nb_payload_type), Cint, (Ptr{Cvoid}, Ref{Cint}), payload, payload_type)

nb_payload_transport(payload, transport) =
    ccall(_sym(:nb_payload_transport), Cint, (Ptr{Cvoid}, Ref{Cint}), payload, transport)

nb_payload_size(payload, size) =
    ccall(_sym(:nb_payload_size), Cint, (Ptr{Cvoid}, Ref{UInt64}), payload, size)

nb_payload_metadata_json(payload, json, len) =
    ccall(_sym(:nb_payload_metadata_json), Cint, (Ptr{Cvoid}, Ref{Ptr{UInt8}}, Ref{Csize_t}), payload, json, len)

nb_payload_bytes(payload, data, len) =
    ccall(_sym(:nb_payload_bytes), Cint, (Ptr{Cvoid}, Ref{Ptr{UInt8}}, Ref{Csize_t}), payload, data, len)

nb_payload_text(payload, text, len) =
    ccall(_sym(:nb_payload_text), Cint, (Ptr{Cvoid}, Ref{Ptr{UInt8}}, Ref{Csize_t}), payload, text, len)

nb_payload_dictionary_json(payload, json, len) =
    ccall(_sym(:nb_payload_dictionary_json), Cint, (Ptr{Cvoid}, Ref{Ptr{UInt8}}, Ref{Csize_t}),
          payload, json, len)

nb_payload_table_ipc(payload, ipc, len) =
    ccall(_sym(:nb_payload_table_ipc), Cint, (Ptr{Cvoid}, Ref{Ptr{UInt8}}, Ref{Csize_t}), payload, ipc, len)

nb_payload_table_shape(payload, rows, columns) =
    ccall(_sym(:nb_payload_table_shape), Cint, (Ptr{Cvoid}, Ref{Csize_t}, Ref{Csize_t}), payload, rows, columns)

nb_payload_in_file(payload, in_file) =
    ccall(_sym(:nb_payload_in_file), Cint, (Ptr{Cvoid}, Ref{Bool}), payload, in_file)

nb_payload_file_path(payload, path, len) =
    ccall(_sym(:nb_payload_file_path), Cint, (Ptr{Cvoid}, Ref{Ptr{UInt8}}, Ref{Csize_t}), payload, path, len)

nb_payload_url(payload, url, len) =
    ccall(_sym(:nb_payload_url), Cint, (Ptr{Cvoid}, Ref{Ptr{UInt8}}, Ref{Csize_t}), payload, url, len)

# ---------------------------------------------------------------------------------------------
# Errors and versions (these return their value directly)

nb_last_error_message() = ccall(_sym(:nb_last_error_message), Ptr{UInt8}, ())

nb_last_error_code() = ccall(_sym(:nb_last_error_code), Cint, ())

nb_result_name(code) = ccall(_sym(:nb_result_name), Ptr{UInt8}, (Cint,), code)

nb_version() = ccall(_sym(:nb_version), Ptr{UInt8}, ())

# ---------------------------------------------------------------------------------------------
# Handler output buffer (only valid during a handler call)

nb_out_set(out, data, len) =
    ccall(_sym(:nb_out_set), Cint, (Ptr{Cvoid}, Ptr{UInt8}, Csize_t), out, data, len)

nb_out_append(out, data, len) =
    ccall(_sym(:nb_out_append), Cint, (Ptr{Cvoid}, Ptr{UInt8}, Csize_t), out, data, len)

# ---------------------------------------------------------------------------------------------
# JetStream

nb_jetstream_ensure_stream(client, name, subjects, subject_count) =
    ccall(_sym(:nb_jetstream_ensure_stream), Cint, (Ptr{Cvoid}, Cstring, Ptr{Cstring}, Csize_t),
          client, name, subjects, subject_count)

nb_jetstream_publish(client, subject, payloads, options, sequence, duplicate, stream, stream_len, sent) =
    ccall(_sym(:nb_jetstream_publish), Cint,
          (Ptr{Cvoid}, Cstring, Ptr{Cvoid}, Ptr{Cvoid}, Ref{UInt64}, Ref{Bool}, Ref{Ptr{UInt8}}, Ref{Csize_t},
           Ref{Ptr{Cvoid}}),
          client, subject, payloads, options, sequence, duplicate, stream, stream_len, sent)

nb_jetstream_publish_json(client, subject, msg_id, json, len, timeout_ms, sequence, duplicate, stream, stream_len) =
    ccall(_sym(:nb_jetstream_publish_json), Cint,
          (Ptr{Cvoid}, Cstring, Cstring, Ptr{UInt8}, Csize_t, Int64, Ref{UInt64}, Ref{Bool}, Ref{Ptr{UInt8}},
           Ref{Csize_t}),
          client, subject, msg_id, json, len, timeout_ms, sequence, duplicate, stream, stream_len)

nb_consumer_options_new(options) =
    ccall(_sym(:nb_consumer_options_new), Cint, (Ref{Ptr{Cvoid}},), options)

nb_consumer_options_free(options) =
    ccall(_sym(:nb_consumer_options_free), Cvoid, (Ref{Ptr{Cvoid}},), options)

nb_consumer_options_set_filter_subject(options, subject) =
    ccall(_sym(:nb_consumer_options_set_filter_subject), Cint, (Ptr{Cvoid}, Cstring), options, subject)

nb_consumer_options_set_ack_mode(options, mode) =
    ccall(_sym(:nb_consumer_options_set_ack_mode), Cint, (Ptr{Cvoid}, Cint), options, mode)

nb_consumer_options_set_ack_wait_ms(options, ms) =
    ccall(_sym(:nb_consumer_options_set_ack_wait_ms), Cint, (Ptr{Cvoid}, UInt64), options, ms)

nb_consumer_options_set_nak_delay_ms(options, ms) =
    ccall(_sym(:nb_consumer_options_set_nak_delay_ms), Cint, (Ptr{Cvoid}, UInt64), options, ms)

nb_consumer_options_set_max_deliver(options, max_deliver) =
    ccall(_sym(:nb_consumer_options_set_max_deliver), Cint, (Ptr{Cvoid}, Int64), options, max_deliver)

nb_js_consumer_new(client, stream, durable, receive_options, consumer_options, consumer) =
    ccall(_sym(:nb_js_consumer_new), Cint, (Ptr{Cvoid}, Cstring, Cstring, Ptr{Cvoid}, Ptr{Cvoid}, Ref{Ptr{Cvoid}}),
          client, stream, durable, receive_options, consumer_options, consumer)

nb_js_consumer_next(consumer, timeout_ms, envelope) =
    ccall(_sym(:nb_js_consumer_next), Cint, (Ptr{Cvoid}, Int64, Ref{Ptr{Cvoid}}), consumer, timeout_ms, envelope)

nb_js_consumer_free(consumer) =
    ccall(_sym(:nb_js_consumer_free), Cvoid, (Ref{Ptr{Cvoid}},), consumer)

nb_envelope_ack(envelope) =
    ccall(_sym(:nb_envelope_ack), Cint, (Ptr{Cvoid},), envelope)

nb_envelope_nak(envelope, delay_ms) =
    ccall(_sym(:nb_envelope_nak), Cint, (Ptr{Cvoid}, Int64), envelope, delay_ms)

nb_envelope_delivered(envelope, delivered) =
    ccall(_sym(:nb_envelope_delivered), Cint, (Ptr{Cvoid}, Ref{Int64}), envelope, delivered)

# ---------------------------------------------------------------------------------------------
# Connect options

nb_connect_options_new(servers, options) =
    ccall(_sym(:nb_connect_options_new), Cint, (Cstring, Ref{Ptr{Cvoid}}), servers, options)

nb_connect_options_free(options) =
    ccall(_sym(:nb_connect_options_free), Cvoid, (Ref{Ptr{Cvoid}},), options)

nb_connect_options_add_server(options, server) =
    ccall(_sym(:nb_connect_options_add_server), Cint, (Ptr{Cvoid}, Cstring), options, server)

nb_connect_options_set_name(options, name) =
    ccall(_sym(:nb_connect_options_set_name), Cint, (Ptr{Cvoid}, Cstring), options, name)

nb_connect_options_set_token(options, token) =
    ccall(_sym(:nb_connect_options_set_token), Cint, (Ptr{Cvoid}, Cstring), options, token)

nb_connect_options_set_user_password(options, user, password) =
    ccall(_sym(:nb_connect_options_set_user_password), Cint, (Ptr{Cvoid}, Cstring, Cstring),
          options, user, password)

nb_connect_options_set_nkey_seed(options, seed) =
    ccall(_sym(:nb_connect_options_set_nkey_seed), Cint, (Ptr{Cvoid}, Cstring), options, seed)

nb_connect_options_set_creds_file(options, path) =
    ccall(_sym(:nb_connect_options_set_creds_file), Cint, (Ptr{Cvoid}, Cstring), options, path)

nb_connect_options_set_tls_ca(options, path) =
    ccall(_sym(:nb_connect_options_set_tls_ca), Cint, (Ptr{Cvoid}, Cstring), options, path)

nb_connect_options_set_tls_client_cert(options, cert_path, key_path) =
    ccall(_sym(:nb_connect_options_set_tls_client_cert), Cint, (Ptr{Cvoid}, Cstring, Cstring),
          options, cert_path, key_path)

nb_connect_options_set_tls_required(options, required) =
    ccall(_sym(:nb_connect_options_set_tls_required), Cint, (Ptr{Cvoid}, Bool), options, required)

nb_connect_options_set_max_reconnects(options, max_reconnects) =
    ccall(_sym(:nb_connect_options_set_max_reconnects), Cint, (Ptr{Cvoid}, Int64), options, max_reconnects)

nb_connect_options_set_connect_timeout_ms(options, timeout_ms) =
    ccall(_sym(:nb_connect_options_set_connect_timeout_ms), Cint, (Ptr{Cvoid}, UInt64), options, timeout_ms)

nb_connect_options_set_retry_on_initial_connect(options, retry) =
    ccall(_sym(:nb_connect_options_set_retry_on_initial_connect), Cint, (Ptr{Cvoid}, Bool), options, retry)

# ---------------------------------------------------------------------------------------------
# Send options

nb_send_options_new(options) =
    ccall(_sym(:nb_send_options_new), Cint, (Ref{Ptr{Cvoid}},), options)

nb_send_options_free(options) =
    ccall(_sym(:nb_send_options_free), Cvoid, (Ref{Ptr{Cvoid}},), options)

nb_send_options_set_broker_url(options, value) =
    ccall(_sym(:nb_send_options_set_broker_url), Cint, (Ptr{Cvoid}, Cstring), options, value)

nb_send_options_set_fileserver_url(options, value) =
    ccall(_sym(:nb_send_options_set_fileserver_url), Cint, (Ptr{Cvoid}, Cstring), options, value)

nb_send_options_set_msg_purpose(options, value) =
    ccall(_sym(:nb_send_options_set_msg_purpose), Cint, (Ptr{Cvoid}, Cstring), options, value)

nb_send_options_set_sender_name(options, value) =
    ccall(_sym(:nb_send_options_set_sender_name), Cint, (Ptr{Cvoid}, Cstring), options, value)

nb_send_options_set_receiver_name(options, value) =
    ccall(_sym(:nb_send_options_set_receiver_name), Cint, (Ptr{Cvoid}, Cstring), options, value)

nb_send_options_set_receiver_id(options, value) =
    ccall(_sym(:nb_send_options_set_receiver_id), Cint, (Ptr{Cvoid}, Cstring), options, value)

nb_send_options_set_reply_to(options, value) =
    ccall(_sym(:nb_send_options_set_reply_to), Cint, (Ptr{Cvoid}, Cstring), options, value)

nb_send_options_set_reply_to_msg_id(options, value) =
    ccall(_sym(:nb_send_options_set_reply_to_msg_id), Cint, (Ptr{Cvoid}, Cstring), options, value)

nb_send_options_set_correlation_id(options, value) =
    ccall(_sym(:nb_send_options_set_correlation_id), Cint, (Ptr{Cvoid}, Cstring), options, value)

nb_send_options_set_msg_id(options, value) =
    ccall(_sym(:nb_send_options_set_msg_id), Cint, (Ptr{Cvoid}, Cstring), options, value)

nb_send_options_set_sender_id(options, value) =
    ccall(_sym(:nb_send_options_set_sender_id), Cint, (Ptr{Cvoid}, Cstring), options, value)

nb_send_options_set_size_threshold(options, bytes) =
    ccall(_sym(:nb_send_options_set_size_threshold), Cint, (Ptr{Cvoid}, UInt64), options, bytes)

nb_send_options_set_is_publish(options, is_publish) =
    ccall(_sym(:nb_send_options_set_is_publish), Cint, (Ptr{Cvoid}, Bool), options, is_publish)

nb_send_options_set_metadata_json(options, json, len) =
    ccall(_sym(:nb_send_options_set_metadata_json), Cint, (Ptr{Cvoid}, Ptr{UInt8}, Csize_t), options, json, len)

nb_send_options_set_max_payload(options, bytes) =
    ccall(_sym(:nb_send_options_set_max_payload), Cint, (Ptr{Cvoid}, Csize_t), options, bytes)

nb_send_options_set_timeout_ms(options, timeout_ms) =
    ccall(_sym(:nb_send_options_set_timeout_ms), Cint, (Ptr{Cvoid}, Int64), options, timeout_ms)

nb_send_options_set_uploader(options, handler) =
    ccall(_sym(:nb_send_options_set_uploader), Cint, (Ptr{Cvoid}, nb_upload_handler_t), options, handler)

nb_send_options_set_plik_uploader(options) =
    ccall(_sym(:nb_send_options_set_plik_uploader), Cint, (Ptr{Cvoid},), options)

# ---------------------------------------------------------------------------------------------
# Receive options

nb_receive_options_new(options) =
    ccall(_sym(:nb_receive_options_new), Cint, (Ref{Ptr{Cvoid}},), options)

nb_receive_options_free(options) =
    ccall(_sym(:nb_receive_options_free), Cvoid, (Ref{Ptr{Cvoid}},), options)

nb_receive_options_set_max_retries(options, max_retries) =
    ccall(_sym(:nb_receive_options_set_max_retries), Cint, (Ptr{Cvoid}, UInt32), options, max_retries)

nb_receive_options_set_base_delay_ms(options, ms) =
    ccall(_sym(:nb_receive_options_set_base_delay_ms), Cint, (Ptr{Cvoid}, UInt64), options, ms)

nb_receive_options_set_max_delay_ms(options, ms) =
    ccall(_sym(:nb_receive_options_set_max_delay_ms), Cint, (Ptr{Cvoid}, UInt64), options, ms)

nb_receive_options_add_allowed_origin(options, origin) =
    ccall(_sym(:nb_receive_options_add_allowed_origin), Cint, (Ptr{Cvoid}, Cstring), options, origin)

nb_receive_options_clear_allowed_origins(options) =
    ccall(_sym(:nb_receive_options_clear_allowed_origins), Cint, (Ptr{Cvoid},), options)

nb_receive_options_set_max_in_memory(options, bytes) =
    ccall(_sym(:nb_receive_options_set_max_in_memory), Cint, (Ptr{Cvoid}, UInt64), options, bytes)

nb_receive_options_set_save_dir(options, dir) =
    ccall(_sym(:nb_receive_options_set_save_dir), Cint, (Ptr{Cvoid}, Cstring), options, dir)

nb_receive_options_set_timeout_ms(options, timeout_ms) =
    ccall(_sym(:nb_receive_options_set_timeout_ms), Cint, (Ptr{Cvoid}, Int64), options, timeout_ms)

nb_receive_options_set_downloader(options, handler) =
    ccall(_sym(:nb_receive_options_set_downloader), Cint, (Ptr{Cvoid}, nb_download_handler_t), options, handler)

nb_receive_options_set_http_fetcher(options) =
    ccall(_sym(:nb_receive_options_set_http_fetcher), Cint, (Ptr{Cvoid},), options)

# ---------------------------------------------------------------------------------------------
# Payload lists

nb_payload_type_name(payload_type) =
    ccall(_sym(:nb_payload_type_name), Ptr{UInt8}, (Cint,), payload_type)

nb_payload_type_from_name(name, payload_type) =
    ccall(_sym(:nb_payload_type_from_name), Cint, (Cstring, Ref{Cint}), name, payload_type)

nb_payloads_new(payloads) =
    ccall(_sym(:nb_payloads_new), Cint, (Ref{Ptr{Cvoid}},), payloads)

nb_payloads_free(payloads) =
    ccall(_sym(:nb_payloads_free), Cvoid, (Ref{Ptr{Cvoid}},), payloads)

nb_payloads_len(payloads, len) =
    ccall(_sym(:nb_payloads_len), Cint, (Ptr{Cvoid}, Ref{Csize_t}), payloads, len)

nb_payloads_clear(payloads) =
    ccall(_sym(:nb_payloads_clear), Cint, (Ptr{Cvoid},), payloads)

nb_payloads_add_text(payloads, dataname, text, len) =
    ccall(_sym(:nb_payloads_add_text), Cint, (Ptr{Cvoid}, Cstring, Ptr{UInt8}, Csize_t), payloads, dataname, text, len)

nb_payloads_add_dictionary(payloads, dataname, json, len) =
    ccall(_sym(:nb_payloads_add_dictionary), Cint, (Ptr{Cvoid}, Cstring, Ptr{UInt8}, Csize_t),
          payloads, dataname, json, len)

nb_payloads_add_table_ipc(payloads, dataname, ipc, len) =
    ccall(_sym(:nb_payloads_add_table_ipc), Cint, (Ptr{Cvoid}, Cstring, Ptr{UInt8}, Csize_t),
          payloads, dataname, ipc, len)

nb_payloads_add_bytes(payloads, dataname, payload_type, data, len) =
    ccall(_sym(:nb_payloads_add_bytes), Cint, (Ptr{Cvoid}, Cstring, Cint, Ptr{UInt8}, Csize_t),
          payloads, dataname, payload_type, data, len)

nb_payloads_add_file(payloads, dataname, payload_type, path) =
    ccall(_sym(:nb_payloads_add_file), Cint, (Ptr{Cvoid}, Cstring, Cint, Cstring), payloads, dataname, payload_type, path)

# ---------------------------------------------------------------------------------------------
# Subscriptions (polling only: `nb_subscribe_callback` would run Julia code on a thread the
# library starts, which Julia must never do; see README.md)

nb_subscribe(client, subject, queue, options, subscription) =
    ccall(_sym(:nb_subscribe), Cint, (Ptr{Cvoid}, Cstring, Cstring, Ptr{Cvoid}, Ref{Ptr{Cvoid}}),
          client, subject, queue, options, subscription)

nb_subscription_next(subscription, timeout_ms, envelope) =
    ccall(_sym(:nb_subscription_next), Cint, (Ptr{Cvoid}, Int64, Ref{Ptr{Cvoid}}), subscription, timeout_ms, envelope)

nb_subscription_unsubscribe(subscription) =
    ccall(_sym(:nb_subscription_unsubscribe), Cint, (Ptr{Cvoid},), subscription)

nb_subscription_free(subscription) =
    ccall(_sym(:nb_subscription_free), Cvoid, (Ref{Ptr{Cvoid}},), subscription)
