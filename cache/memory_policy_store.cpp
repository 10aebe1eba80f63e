#include "cache/memory_policy_store.hpp"

namespace mtasts::cache {

Result<bool> MemoryPolicyStore::get(std::string_view domain, PolicyRecord& out) {
  auto it = entries_.find(domain);
  if (it == entries_.end()) return false;
  out = it->second;
  return true;
}

Result<void> MemoryPolicyStore::put(std::string_view domain, const PolicyRecord& record) {
  entries_.insert_or_assign(std::string(domain), record);
  ++writes_;
  return {};
}

Result<bool> MemoryPolicyStore::erase(std::string_view domain) {
  auto it = entries_.find(domain);
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

Result<void> MemoryPolicyStore::eraseAll() {
  entries_.clear();
  return {};
}

Result<void> MemoryPolicyStore::forEach(const Visitor& visit) {
  for (const auto& [domain, record] : entries_) {
    if (!visit(domain, record)) break;
  }
  return {};
}

Result<void> MemoryPolicyStore::recordUsage(
    const std::vector<std::pair<std::string, UnixSeconds>>& stamps) {
  ++writes_;
  for (const auto& [domain, when] : stamps) {
    auto it = entries_.find(domain);
    if (it != entries_.end() && when > it->second.last_used) it->second.last_used = when;
  }
  return {};
}

}  // namespace mtasts::cache
