// A preload file with one entry for each way a key entry is refused, shared by the --check and
// command-line tests (the run and --check must refuse exactly the same entries).
#pragma once

namespace liprobe::test {

// keys[0] and keys[4] are good; keys[1] has a 15-octet key, keys[2] a key with non-hex
// characters, keys[3] an unknown type, keys[5] the key_id of keys[4].
inline constexpr const char* kRefusedPreload = R"({"keys": [
  {"type": "srtp", "mki": "0a0b0c0d", "master_key": "000102030405060708090a0b0c0d0e0f",
   "master_salt": "a0a1a2a3a4a5a6a7a8a9aaab"},
  {"type": "pck", "key": "28ba74447f037dcc09ad7f2576dc2d", "key_id": "1c5f7886",
   "rand": "30333032343661303730646133333265"},
  {"type": "pck", "key": "28ba74447f037dcc09ad7f2576dc2dzz", "key_id": "1c5f7887",
   "rand": "30333032343661303730646133333265"},
  {"type": "gkm", "key": "28ba74447f037dcc09ad7f2576dc2def"},
  {"type": "pck", "key": "38ba74447f037dcc09ad7f2576dc2def", "key_id": "1c5f7888",
   "rand": "30333032343661303730646133333265"},
  {"type": "pck", "key": "48ba74447f037dcc09ad7f2576dc2def", "key_id": "1c5f7888",
   "rand": "30333032343661303730646133333265"}
]})";
// Hex of the key material above, for "never in any output" checks.
inline constexpr const char* kRefusedPreloadSecrets[] = {"28ba74447f", "38ba7444", "48ba7444",
                                                         "000102030405", "a0a1a2a3"};

}  // namespace liprobe::test
