// One C++ translation unit that includes the C header (compiled with g++ -Wall -Wextra -Werror)
// and uses it: the header is valid C++ (extern "C", no C-only constructs) and links.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "natsbridge.h"

namespace {

int passed = 0;
int failed = 0;

void check(bool cond, const std::string &what) {
    std::printf("%s %d - C++: %s%s%s\n", cond ? "ok" : "not ok", passed + failed + 1, what.c_str(),
                cond ? "" : " | last error: ", cond ? "" : nb_last_error_message());
    (cond ? passed : failed)++;
}

// RAII owners over the free-with-address functions.
struct PayloadsDeleter {
    void operator()(nb_payloads_t *p) const { nb_payloads_free(&p); }
};
struct EnvelopeDeleter {
    void operator()(nb_envelope_t *e) const { nb_envelope_free(&e); }
};
using Payloads = std::unique_ptr<nb_payloads_t, PayloadsDeleter>;
using Envelope = std::unique_ptr<nb_envelope_t, EnvelopeDeleter>;

}  // namespace

int main() {
    nb_payloads_t *raw = nullptr;
    check(nb_payloads_new(&raw) == NB_OK, "nb_payloads_new");
    Payloads payloads(raw);
    const std::string text = "hello from C++";
    check(nb_payloads_add_text(payloads.get(), "greeting", text.data(), text.size()) == NB_OK, "add text");
    const std::string dict = R"({"lang":"c++","n":[1,2,3]})";
    check(nb_payloads_add_dictionary(payloads.get(), "config", dict.data(), dict.size()) == NB_OK, "add dictionary");
    const unsigned char bytes[] = {0, 1, 2, 255};
    check(nb_payloads_add_bytes(payloads.get(), "blob", NB_PAYLOAD_BINARY, bytes, sizeof bytes) == NB_OK, "add bytes");

    nb_send_options_t *opts = nullptr;
    check(nb_send_options_new(&opts) == NB_OK, "send options");
    check(nb_send_options_set_is_publish(opts, false) == NB_OK, "is_publish false");
    nb_envelope_t *sent_raw = nullptr;
    check(nb_smartsend(nullptr, "cxx.subject", payloads.get(), opts, &sent_raw) == NB_OK, "build an envelope");
    Envelope sent(sent_raw);
    nb_send_options_free(&opts);

    const char *json = nullptr;
    size_t len = 0;
    check(nb_envelope_json(sent.get(), &json, &len) == NB_OK && len > 0, "envelope JSON");
    nb_envelope_t *got_raw = nullptr;
    check(nb_smartreceive(reinterpret_cast<const uint8_t *>(json), len, nullptr, &got_raw) == NB_OK, "decode it");
    Envelope got(got_raw);

    const nb_payload_t *p = nullptr;
    const char *s = nullptr;
    check(nb_envelope_payload_by_name(got.get(), "greeting", &p) == NB_OK, "find the text payload");
    check(nb_payload_text(p, &s, &len) == NB_OK && std::string(s, len) == text, "text round-trips");
    check(nb_envelope_payload_by_name(got.get(), "config", &p) == NB_OK &&
              nb_payload_dictionary_json(p, &s, &len) == NB_OK && std::string(s, len) == dict,
          "dictionary round-trips");
    const uint8_t *b = nullptr;
    check(nb_envelope_payload_by_name(got.get(), "blob", &p) == NB_OK && nb_payload_bytes(p, &b, &len) == NB_OK &&
              len == sizeof bytes && std::memcmp(b, bytes, len) == 0,
          "bytes round-trip");
    nb_payload_type_t t = -1;
    check(nb_payload_type(p, &t) == NB_OK && t == NB_PAYLOAD_BINARY, "payload type");
    check(nb_smartreceive(reinterpret_cast<const uint8_t *>("{}"), 2, nullptr, &got_raw) == NB_ERR_INVALID_ENVELOPE &&
              got_raw == nullptr,
          "a bad envelope fails with NB_ERR_INVALID_ENVELOPE");
    check(std::string(nb_result_name(NB_ERR_TIMEOUT)) == "Timeout", "status names");

    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
