// MemoryPolicyStore: a PolicyStore in a std::map, for unit tests and for --query.
#pragma once

#include "cache/policy_store.hpp"

#include <map>
#include <string>

namespace mtasts::cache {

class MemoryPolicyStore final : public PolicyStore {
 public:
  Result<bool> get(std::string_view domain, PolicyRecord& out) override;
  Result<void> put(std::string_view domain, const PolicyRecord& record) override;
  Result<bool> erase(std::string_view domain) override;
  Result<void> eraseAll() override;
  Result<void> forEach(const Visitor& visit) override;
  Result<void> recordUsage(const std::vector<std::pair<std::string, UnixSeconds>>& stamps) override;

  std::size_t size() const { return entries_.size(); }
  std::size_t writes() const { return writes_; }  // put + recordUsage calls, for tests

 private:
  std::map<std::string, PolicyRecord, std::less<>> entries_;
  std::size_t writes_ = 0;
};

}  // namespace mtasts::cache
