// src/wire/cluster_key.hpp: the cluster key and the handshake's
// challenge-response (docs/protocol.md, "Authentication").
//
// Every program, tool and daemon of one cluster holds the same secret, the
// cluster key: the bytes of a file (`weftd --key FILE`, WEFT_KEY_FILE, the
// tools' --key). A server that has a key sends a fresh random challenge in
// Welcome; the client answers AuthProof{HMAC-SHA256(key, challenge)}; the
// server compares in constant time and answers AuthResult, or Error
// UNAUTHORIZED and closes. The key itself never crosses the wire, and a
// recorded proof is worth nothing against the next challenge.
//
// One host needs no configuration: the local weftd makes a key file of
// its own (ensure_default_key) and every client falls back to it.
//
// A key file must hold at least 16 bytes and be readable by its owner only
// (like ssh's private keys): a key others can read is not a secret.
#pragma once

#include <string>
#include <string_view>

namespace weft::wire {

constexpr std::size_t challenge_size = 32;
constexpr std::size_t min_key_size = 16;

// Reads a key file. Throws std::runtime_error that names the file and says
// what is wrong (missing, readable by others, too short) and how to make one.
std::string load_cluster_key(const std::string& path);

// The key a client proves with: the file WEFT_KEY_FILE names, else this
// host's default key (default_key_path) if it exists, else "". Throws as
// load_cluster_key if the file is unusable.
std::string cluster_key_from_env();

// This user's key on this host, <runtime dir>/cluster.key: the local
// weftd (the one at the default socket) makes it on its first start and
// requires it, so every program, worker and tool of this user on this host
// proves it without configuration, and nobody else can connect even if
// the socket's mode were wrong.
std::string default_key_path();
// Makes the default key if missing (32 random bytes, mode 0600, its
// directory 0700) and returns it, checked as load_cluster_key checks.
std::string ensure_default_key();

// challenge_size random bytes from the system's generator.
std::string new_challenge();

// HMAC-SHA256(key, challenge): the AuthProof's mac.
std::string auth_proof(std::string_view key, std::string_view challenge);

// Whether mac is the proof for challenge under key (constant time).
bool proof_matches(std::string_view key, std::string_view challenge, std::string_view mac);

// How to make a key file, for error messages.
std::string how_to_make_a_key(const std::string& path);

}  // namespace weft::wire
