#include "tlsrpt/collection.hpp"

#include "common/log.hpp"

#include <spdlog/fmt/fmt.h>

namespace mtasts::tlsrpt {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = moduleLogger("tlsrpt");
  return l;
}

Result<std::string> storedPosition(DayStore& store, const std::string& name) {
  auto stored = store.position(name);
  if (!stored) return Unexpected{std::move(stored).error()};
  return stored->value_or(std::string());
}

}  // namespace

TlsRptCollection::TlsRptCollection(const Clock& clock, CollectionOptions options)
    : clock_(clock), options_(std::move(options)), aggregate_(clock, options_.limits, stats_) {}

TlsRptCollection::~TlsRptCollection() {
  // Sources first (they add to the aggregate), then the final commit, then the rest in
  // reverse order of construction; the env outlives all of it (the owner keeps it).
  stopSources();
  if (committer_ && !committer_stopped_) (void)flush();
  maillog_.reset();
  sink_.reset();
  datagrams_.reset();  // unlinks the socket file
  committer_.reset();
  policies_.reset();
  store_.reset();
}

Result<void> TlsRptCollection::bindSocket(net::UniqueFd inherited) {
  if (!options_.datagrams || datagrams_) return {};
  auto opened = DatagramCollector::open(*options_.datagrams, aggregate_, stats_, clock_, std::move(inherited));
  if (!opened) return Unexpected{std::move(opened).error()};
  datagrams_ = std::move(*opened);
  return {};
}

Result<void> TlsRptCollection::start(std::shared_ptr<cache::LmdbEnv> env) {
  if (committer_) return fail(ErrorCode::Internal, "TLS-RPT collection started twice");
  auto store = DayStore::attach(env);
  if (!store) return fail(store.error().code, "TLS-RPT day store: " + store.error().detail);
  store_ = std::move(*store);
  auto committer = std::make_unique<Committer>(aggregate_, *store_, stats_, clock_, options_.committer);
  // On failure nothing may run: the committer (it commits at destruction) goes before its store.
  auto undo = [&] {
    committer.reset();
    sink_.reset();
    maillog_.reset();
    policies_.reset();
    store_.reset();
  };
  if (auto prepared = committer->prepare(); !prepared) {
    undo();
    return fail(prepared.error().code, "TLS-RPT day store: " + prepared.error().detail);
  }
  if (auto ok = startMaillog(env); !ok) {
    undo();
    return ok;
  }
  committer_ = std::move(committer);
  committer_->start();
  if (datagrams_) {
    datagrams_->start();
    datagrams_running_.store(true, std::memory_order_relaxed);
  }
  if (maillog_) {
    // The mail log resumes where its last committed batch ended.
    auto stored = storedPosition(*store_, maillog_->key());
    if (!stored) logger()->warn("cannot read the stored mail-log position error={}", stored.error().detail);
    if (auto ok = maillog_->start(stored ? *stored : std::string()); !ok) {
      logger()->error("mail-log collector did not start error={}", ok.error().detail);
    }
  }
  logger()->info("TLS-RPT collection started socket={} maillog={} commit_interval_ms={} keep_days={}",
                 datagrams_ ? escapeForLog(datagrams_->path()) : std::string("-"),
                 options_.maillog.empty() ? std::string("-") : escapeForLog(options_.maillog),
                 options_.committer.interval.count(), options_.committer.keep_days);
  return {};
}

// The mail-log collector and its sink are built here, started by start() once the committer
// runs. Its policy hook reads the cache through a store of its own (one per thread).
Result<void> TlsRptCollection::startMaillog(const std::shared_ptr<cache::LmdbEnv>& env) {
  if (options_.maillog.empty()) return {};
  auto reader = CachedPolicyReader::attach(env, clock_, options_.verdict_rules);
  if (!reader) return fail(reader.error().code, "policy cache for the mail log: " + reader.error().detail);
  policies_ = std::move(*reader);
  std::unique_ptr<MaillogSource> source;
  if (options_.maillog == MaillogJournal) {
    source = std::make_unique<MaillogJournalReader>(options_.journal);
  } else {
    MaillogFileOptions file = options_.file;
    file.path = options_.maillog;
    source = std::make_unique<MaillogFileFollower>(std::move(file));
  }
  const std::string key = source->key();
  auto marker = store_->position(tlsrptLinesMarkerName(key));
  if (!marker) return fail(marker.error().code, "TLS-RPT state: " + marker.error().detail);
  sink_ = std::make_unique<MaillogAggregateSink>(aggregate_, [this] { return datagramsRunning(); },
                                                 marker->has_value());
  MaillogCollectorOptions options = options_.maillog_collector;
  options.pump.sessions.policy_for = [reader = policies_.get()](std::string_view domain) {
    return reader->policyFor(domain);
  };
  maillog_ = std::make_unique<MaillogCollector>(
      std::move(source), std::move(options), [sink = sink_.get()](MaillogBatch&& batch) { (*sink)(std::move(batch)); },
      clock_);
  return {};
}

void TlsRptCollection::stopSources() {
  if (sources_stopped_) return;
  sources_stopped_ = true;
  if (datagrams_) datagrams_->stop();
  datagrams_running_.store(false, std::memory_order_relaxed);
  if (maillog_) maillog_->stop();
}

Result<void> TlsRptCollection::flush() {
  if (!committer_) return {};
  if (!sources_stopped_) return committer_->commitOnce();
  if (!committer_stopped_) {
    committer_stopped_ = true;
    return committer_->stop();  // the final commit on its thread, which then ends
  }
  return committer_->commitOnce();  // own failures of lookups that ended after the stop
}

void TlsRptCollection::setVerdictRules(const VerdictRules& rules) {
  options_.verdict_rules = rules;
  if (policies_) policies_->setRules(rules);
}

void TlsRptCollection::lookupAnswered(const policy::LookupEvent& event) noexcept {
  if (!event.fetch_failure || !committer_) return;
  try {
    if (auto ok = aggregate_.addOwnFailure(event.domain, event.fetch_failure->type, event.fetch_failure->reason); !ok) {
      logger()->debug("{}", ok.error().detail);
    }
  } catch (const std::exception& e) {  // an allocation failure must not reach the policy service
    logger()->error("own failure not counted domain={} error={}", escapeForLog(event.domain), e.what());
  }
}

std::optional<MaillogCollectorStats> TlsRptCollection::maillogStats() const {
  if (!maillog_) return std::nullopt;
  return maillog_->stats();
}

}  // namespace mtasts::tlsrpt
