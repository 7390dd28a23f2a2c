#include "liprobe/sip/hyperscan.hpp"

#include <hs/hs.h>

namespace liprobe::sip {

void HsDatabaseDeleter::operator()(hs_database* db) const {
    hs_free_database(db);
}
void HsScratchDeleter::operator()(hs_scratch* s) const {
    hs_free_scratch(s);
}

bool HsBlockDatabase::make_scratches(unsigned slots, std::string& error) {
    scratches_.clear();
    if (slots == 0) slots = 1;
    hs_scratch_t* proto = nullptr;
    if (hs_alloc_scratch(db_.get(), &proto) != HS_SUCCESS) {
        error = "hyperscan: scratch allocation failed";
        return false;
    }
    scratches_.emplace_back(proto);
    for (unsigned i = 1; i < slots; ++i) {
        hs_scratch_t* clone = nullptr;
        if (hs_clone_scratch(proto, &clone) != HS_SUCCESS) {
            error = "hyperscan: scratch clone failed";
            return false;
        }
        scratches_.emplace_back(clone);
    }
    return true;
}

bool HsBlockDatabase::compile(const std::vector<HsPattern>& patterns, unsigned scratch_slots,
                              std::string& error) {
    std::vector<const char*> exprs;
    std::vector<unsigned> flags, ids;
    for (const auto& p : patterns) {
        exprs.push_back(p.expression.c_str());
        flags.push_back(p.flags);
        ids.push_back(p.id);
    }
    hs_database_t* db = nullptr;
    hs_compile_error_t* err = nullptr;
    if (hs_compile_multi(exprs.data(), flags.data(), ids.data(),
                         static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK, nullptr, &db,
                         &err) != HS_SUCCESS) {
        error = "hyperscan: compile failed at pattern index " +
                std::to_string(err ? err->expression : -1);
        hs_free_compile_error(err);
        return false;
    }
    db_.reset(db);
    return make_scratches(scratch_slots, error);
}

}  // namespace liprobe::sip
