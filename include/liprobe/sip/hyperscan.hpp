// Small RAII owners for Hyperscan objects shared by the SIP detector and the selector set.
// A compiled database is immutable; scratch space is per thread ("slot"), allocated up front in
// the control plane so the fast path never allocates.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

struct hs_database;
struct hs_scratch;

namespace liprobe::sip {

struct HsDatabaseDeleter {
    void operator()(hs_database* db) const;
};
struct HsScratchDeleter {
    void operator()(hs_scratch* s) const;
};
using HsDatabasePtr = std::unique_ptr<hs_database, HsDatabaseDeleter>;
using HsScratchPtr = std::unique_ptr<hs_scratch, HsScratchDeleter>;

// One pattern for hs_compile_multi.
struct HsPattern {
    std::string expression;
    unsigned flags = 0;  // HS_FLAG_*
    unsigned id = 0;
};

// A block-mode database plus one scratch per slot. Control plane only (allocates).
class HsBlockDatabase {
  public:
    // Compiles the patterns; on failure returns false and sets error (never pattern text,
    // which may be a target identity: only the failing pattern's index).
    bool compile(const std::vector<HsPattern>& patterns, unsigned scratch_slots,
                 std::string& error);
    hs_database* database() const { return db_.get(); }
    hs_scratch* scratch(unsigned slot) const {
        return slot < scratches_.size() ? scratches_[slot].get() : nullptr;
    }
    unsigned slots() const { return static_cast<unsigned>(scratches_.size()); }

  private:
    bool make_scratches(unsigned slots, std::string& error);
    HsDatabasePtr db_;
    std::vector<HsScratchPtr> scratches_;
};

}  // namespace liprobe::sip
