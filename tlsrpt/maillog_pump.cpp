#include "tlsrpt/maillog_pump.hpp"

#include "postfix/maillog_line.hpp"

#include <utility>

namespace mtasts::tlsrpt {

MaillogPump::MaillogPump(MaillogSource& source, MaillogPumpOptions options, MaillogSink sink, const Clock& clock)
    : source_(source),
      options_(std::move(options)),
      sink_(std::move(sink)),
      clock_(clock),
      sessions_(options_.sessions) {
  batch_.sessions.reserve(64);
}

bool MaillogPump::cycle() {
  now_ = clock_.now();
  if (!started_) {
    // Where the source begins (the end of the file on a first start, a new file's 0 after a
    // gap) is stored at once: a restart before the first lines were cut must begin there too,
    // not at a later end.
    started_ = true;
    if (!std::holds_alternative<std::monostate>(source_.position())) cut(false);
  }
  std::size_t budget = options_.max_cycle_entries;
  for (;;) {
    const std::uint64_t before = stats_.entries;
    const ReadOutcome outcome = source_.read(*this, options_.read_chunk, now_);
    const std::uint64_t read = stats_.entries - before;
    budget -= std::min<std::size_t>(budget, static_cast<std::size_t>(read));
    if (cut_now_) {
      cut(cut_forced_);
      if (budget > 0) continue;
      return true;
    }
    if (outcome == ReadOutcome::Limit) {
      if (budget > 0) continue;
      return true;
    }
    break;  // Idle: everything there is was read
  }
  // At the end of what is there: a batch may come due by time, and with nothing more to read
  // the state cannot become quiescent by itself; only the quiescent_wait bound cuts it then.
  if (batch_.entries > 0 && !due_ && now_ - batch_since_ >= options_.batch_interval) {
    due_ = true;
    due_since_ = now_;
    due_entries_ = 0;
    quiescent_ = sessions_.pendingHandshakes() == 0;
  }
  if (due_ && (quiescent_ || now_ - due_since_ >= options_.quiescent_wait)) cut(!quiescent_);
  return false;
}

void MaillogPump::flush() {
  if (batch_.entries > 0) cut(sessions_.pendingHandshakes() != 0);
}

UnixSeconds MaillogPump::nextDue() const {
  if (batch_.entries == 0) return 0;
  if (!due_) return batch_since_ + options_.batch_interval;
  return due_since_ + options_.quiescent_wait;
}

bool MaillogPump::line(std::string_view line) {
  const postfix::MaillogEvent event = postfix::parseMaillogLine(line);
  if (event.kind == postfix::MaillogKind::NotPostfix) return feed(event, std::nullopt);
  return feed(event, timestamps_.toUnix(event.header, now_));
}

bool MaillogPump::message(std::string_view ident, std::uint32_t pid, std::string_view message, UnixSeconds at) {
  return feed(postfix::parseMaillogMessage(ident, pid, message), at);
}

bool MaillogPump::feed(const postfix::MaillogEvent& event, std::optional<UnixSeconds> at) {
  stats_.entries += 1;
  if (batch_.entries++ == 0) batch_since_ = now_;
  // Other programs' lines cost the parser's prefix check and nothing else here.
  if (event.kind == postfix::MaillogKind::NotPostfix) return afterEntry(false);
  stats_.postfix_events += 1;
  if (!at) stats_.untimed += 1;
  const std::size_t before = batch_.sessions.size();
  sessions_.feed(event, at.value_or(now_), batch_.sessions);
  stats_.sessions += batch_.sessions.size() - before;
  return afterEntry(true);
}

// After each entry: is a cut due, and is this a point to cut at? Returning false stops the
// source right after this entry, so that position() is the cut's position.
bool MaillogPump::afterEntry(bool state_changed) {
  if (!due_) {
    if (batch_.entries < options_.max_batch_entries && batch_.sessions.size() < options_.max_batch_sessions) {
      return true;
    }
    due_ = true;
    due_since_ = now_;
    due_entries_ = 0;
    state_changed = true;
  }
  // pendingHandshakes() walks the tracked processes: only after an entry that changed them.
  if (state_changed) quiescent_ = sessions_.pendingHandshakes() == 0;
  const bool bound = ++due_entries_ >= options_.quiescent_entries || now_ - due_since_ >= options_.quiescent_wait;
  if (!quiescent_ && !bound) return true;
  cut_now_ = true;
  cut_forced_ = !quiescent_;
  return false;
}

void MaillogPump::cut(bool forced) {
  batch_.position_key = source_.key();
  batch_.position = source_.position();
  batch_.quiescent = !forced;
  batch_.in_flight = forced ? sessions_.pendingHandshakes() : 0;
  batch_.saw_tlsrpt_lines = sessions_.sawTlsRptLines();
  stats_.batches += 1;
  if (forced) stats_.forced_cuts += 1;
  MaillogBatch out = std::exchange(batch_, MaillogBatch{});
  batch_.sessions.reserve(64);
  due_ = false;
  cut_now_ = false;
  cut_forced_ = false;
  sink_(std::move(out));
}

}  // namespace mtasts::tlsrpt
