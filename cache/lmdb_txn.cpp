// ReadTxn / WriteTxn and lmdbError(): the thin layer between MDB_* calls and Result. Every
// txn that entered the env's gate leaves it on the thread that ends it.
#include "cache/lmdb_env.hpp"

#include <spdlog/fmt/fmt.h>

#include <cerrno>
#include <memory>

namespace mtasts::cache {
namespace {

MDB_val toVal(std::string_view s) {
  // LMDB never writes through mv_data for keys or put values; the cast is for its C API.
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

std::string_view fromVal(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

ErrorCode codeFor(int rc) {
  switch (rc) {
    case MDB_NOTFOUND: return ErrorCode::NotFound;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case ENOSPC: return ErrorCode::TooLarge;
    case MDB_READERS_FULL:
    case MDB_MAP_RESIZED:
    case EAGAIN:
    case EBUSY: return ErrorCode::Temporary;
    case MDB_BAD_VALSIZE: return ErrorCode::InvalidInput;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_PANIC:
    case EIO:
    case EACCES:
    case EPERM:
    case ENOENT:
    case ENOTDIR:
    case EROFS:
    case ENOMEM: return ErrorCode::Io;
    default: return ErrorCode::Internal;  // MDB_BAD_TXN, MDB_BAD_DBI, EINVAL, ...: misuse
  }
}

}  // namespace

Error lmdbError(int rc, std::string_view what) {
  return Error{codeFor(rc), fmt::format("{}: {} (lmdb rc {})", what, mdb_strerror(rc), rc)};
}

Result<void> scanPrefix(MDB_txn* txn, MDB_dbi dbi, std::string_view prefix, const ScanVisitor& visit) {
  if (txn == nullptr) return fail(ErrorCode::Internal, "scan without an active txn");
  MDB_cursor* raw = nullptr;
  if (int rc = mdb_cursor_open(txn, dbi, &raw); rc != MDB_SUCCESS) {
    return Unexpected{lmdbError(rc, "cannot open a cursor")};
  }
  std::unique_ptr<MDB_cursor, void (*)(MDB_cursor*)> cursor(raw, mdb_cursor_close);
  MDB_val key = toVal(prefix);
  MDB_val value{0, nullptr};
  // MDB_SET_RANGE: the first key >= prefix; an empty key is not valid there, so "" scans all.
  int rc = mdb_cursor_get(raw, &key, &value, prefix.empty() ? MDB_FIRST : MDB_SET_RANGE);
  for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(raw, &key, &value, MDB_NEXT)) {
    std::string_view k = fromVal(key);
    if (k.substr(0, prefix.size()) != prefix) return {};
    if (!visit(k, fromVal(value))) return {};
  }
  if (rc != MDB_NOTFOUND) return Unexpected{lmdbError(rc, "cannot iterate")};
  return {};
}

// ---- ReadTxn ----

ReadTxn::ReadTxn(ReadTxn&& other) noexcept
    : env_(std::exchange(other.env_, nullptr)),
      txn_(std::exchange(other.txn_, nullptr)),
      active_(std::exchange(other.active_, false)) {}

ReadTxn& ReadTxn::operator=(ReadTxn&& other) noexcept {
  if (this != &other) {
    abort();
    env_ = std::exchange(other.env_, nullptr);
    txn_ = std::exchange(other.txn_, nullptr);
    active_ = std::exchange(other.active_, false);
  }
  return *this;
}

ReadTxn::~ReadTxn() { abort(); }

void ReadTxn::abort() {
  if (txn_ == nullptr) return;
  mdb_txn_abort(txn_);
  txn_ = nullptr;
  if (active_) env_->gate_.leave();  // after the txn ended: the map may move from here on
  active_ = false;
}

void ReadTxn::reset() {
  if (txn_ == nullptr || !active_) return;
  mdb_txn_reset(txn_);
  active_ = false;
  env_->gate_.leave();
}

Result<bool> ReadTxn::get(MDB_dbi dbi, std::string_view key, std::string_view& value) const {
  if (!active_) return fail(ErrorCode::Internal, "read txn used while not active");
  MDB_val k = toVal(key);
  MDB_val v{0, nullptr};
  int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != MDB_SUCCESS) return Unexpected{lmdbError(rc, "lmdb get")};
  value = fromVal(v);
  return true;
}

// ---- WriteTxn ----

WriteTxn::WriteTxn(WriteTxn&& other) noexcept
    : env_(std::exchange(other.env_, nullptr)),
      txn_(std::exchange(other.txn_, nullptr)),
      failed_rc_(other.failed_rc_),
      gated_(std::exchange(other.gated_, false)) {}

WriteTxn::~WriteTxn() {
  if (txn_ != nullptr) mdb_txn_abort(std::exchange(txn_, nullptr));
  end();
}

void WriteTxn::end() {
  if (gated_ && env_ != nullptr) env_->gate_.leave();
  gated_ = false;
}

Result<void> WriteTxn::check(int rc, std::string_view what) {
  if (rc == MDB_SUCCESS) return {};
  failed_rc_ = rc;
  return Unexpected{lmdbError(rc, what)};
}

Result<bool> WriteTxn::get(MDB_dbi dbi, std::string_view key, std::string_view& value) {
  if (txn_ == nullptr) return fail(ErrorCode::Internal, "write txn used after commit");
  MDB_val k = toVal(key);
  MDB_val v{0, nullptr};
  int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return false;
  if (auto r = check(rc, "lmdb get"); !r) return Unexpected{std::move(r).error()};
  value = fromVal(v);
  return true;
}

Result<void> WriteTxn::put(MDB_dbi dbi, std::string_view key, std::string_view value) {
  if (txn_ == nullptr) return fail(ErrorCode::Internal, "write txn used after commit");
  MDB_val k = toVal(key);
  MDB_val v = toVal(value);
  return check(mdb_put(txn_, dbi, &k, &v, 0), "lmdb put");
}

Result<bool> WriteTxn::del(MDB_dbi dbi, std::string_view key) {
  if (txn_ == nullptr) return fail(ErrorCode::Internal, "write txn used after commit");
  MDB_val k = toVal(key);
  int rc = mdb_del(txn_, dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  if (auto r = check(rc, "lmdb del"); !r) return Unexpected{std::move(r).error()};
  return true;
}

Result<void> WriteTxn::clear(MDB_dbi dbi) {
  if (txn_ == nullptr) return fail(ErrorCode::Internal, "write txn used after commit");
  return check(mdb_drop(txn_, dbi, 0), "lmdb drop");
}

Result<void> WriteTxn::commit() {
  if (txn_ == nullptr) return fail(ErrorCode::Internal, "write txn committed twice");
  // mdb_txn_commit frees the txn whether it succeeds or not.
  int rc = mdb_txn_commit(std::exchange(txn_, nullptr));
  end();
  return check(rc, "lmdb commit");
}

}  // namespace mtasts::cache
