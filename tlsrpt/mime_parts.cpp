#include "tlsrpt/mime_parts.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>

#include "common/log.hpp"

namespace mtasts::tlsrpt {
namespace {

constexpr std::size_t MaxBoundary = 200;  // RFC 2046 allows 70; be lenient, not unbounded

std::string partName(const std::string& number) {
  return number.empty() ? std::string("the mail") : "part " + number;
}

// The file name a part carries: RFC 2183 filename first, then the older Content-Type name.
std::string fileNameOf(const HeaderSection& header, const ParameterizedValue& type) {
  if (const std::string* disposition = header.find("Content-Disposition")) {
    const ParameterizedValue d = parseParameterizedValue(*disposition);
    if (const std::string* name = d.param("filename"); name && !name->empty()) {
      return decodeEncodedWords(*name);
    }
  }
  if (const std::string* name = type.param("name"); name && !name->empty()) {
    return decodeEncodedWords(*name);
  }
  return {};
}

class Walker {
 public:
  Walker(const MimeLimits& limits, MimeTree& tree) : limits_(limits), tree_(tree) {}

  // One entity (a mail or a body part): its header, then its body by media type.
  void entity(std::string_view text, const std::string& number, std::size_t depth,
              std::string_view default_type, HeaderSection* keep_header,
              ParameterizedValue* keep_type) {
    HeaderSection header = parseHeaderSection(text, limits_.max_header_fields);
    const std::string* type_value = header.find("Content-Type");
    ParameterizedValue type = parseParameterizedValue(type_value ? *type_value : "");
    // RFC 2045 5.2: a missing or syntactically invalid Content-Type means text/plain.
    if (type.token.find('/') == std::string::npos) type.token = std::string(default_type);
    const std::string_view body = text.substr(std::min(header.body_offset, text.size()));
    const std::string token = type.token;
    if (token.starts_with("multipart/")) {
      const std::string* boundary = type.param("boundary");
      if (boundary == nullptr || boundary->empty() || boundary->size() > MaxBoundary) {
        problem(number, boundary == nullptr || boundary->empty()
                            ? token + " without a boundary parameter"
                            : token + " with a boundary longer than 200 bytes");
      } else if (depth >= limits_.max_depth) {
        problem(number, fmt::format("nested deeper than {} levels: not read", limits_.max_depth));
      } else {
        multipart(body, *boundary, number, depth + 1,
                  token == "multipart/digest" ? "message/rfc822" : "text/plain");
      }
    } else if (token == "message/rfc822" || token == "message/global") {
      if (depth >= limits_.max_depth) {
        problem(number, fmt::format("nested deeper than {} levels: not read", limits_.max_depth));
      } else {
        entity(body, number.empty() ? "1" : number, depth + 1, "text/plain", nullptr, nullptr);
      }
    } else {
      MimeLeaf leaf;
      leaf.number = number.empty() ? "1" : number;
      leaf.content_type = token;
      leaf.file_name = fileNameOf(header, type);
      if (const std::string* cte = header.find("Content-Transfer-Encoding")) {
        leaf.transfer_encoding = *cte;
      }
      leaf.body = body;
      tree_.leaves.push_back(std::move(leaf));
    }
    if (keep_type != nullptr) *keep_type = std::move(type);
    if (keep_header != nullptr) *keep_header = std::move(header);
  }

 private:
  void problem(const std::string& number, const std::string& what) {
    tree_.problems.push_back(partName(number) + ": " + what);
  }

  // RFC 2046 5.1.1: a delimiter line is "--" boundary, "--" again for the last one, then
  // optional transport padding (spaces, tabs); the line break before it belongs to it.
  void multipart(std::string_view body, const std::string& boundary, const std::string& number,
                 std::size_t depth, std::string_view default_type) {
    std::size_t pos = 0;
    std::size_t part_start = std::string_view::npos;  // npos: still in the preamble
    std::size_t index = 0;
    bool closed = false;
    while (pos < body.size() && !closed) {
      std::size_t eol = body.find('\n', pos);
      const std::size_t next = eol == std::string_view::npos ? body.size() : eol + 1;
      if (eol == std::string_view::npos) eol = body.size();
      std::string_view line = body.substr(pos, eol - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      const bool delimiter = line.size() >= boundary.size() + 2 && line.starts_with("--") &&
                             line.substr(2, boundary.size()) == boundary;
      std::string_view rest = delimiter ? line.substr(boundary.size() + 2) : std::string_view{};
      const bool close = delimiter && rest.starts_with("--");
      if (close) rest.remove_prefix(2);
      const bool padding_only = std::all_of(rest.begin(), rest.end(), [](char c) { return c == ' ' || c == '\t'; });
      if (delimiter && padding_only) {
        if (part_start != std::string_view::npos) {
          std::size_t end = pos;  // drop the line break that precedes the delimiter
          if (end > part_start && body[end - 1] == '\n') --end;
          if (end > part_start && body[end - 1] == '\r') --end;
          if (!addPart(body.substr(part_start, end - part_start), number, ++index, depth, default_type)) return;
        }
        part_start = next;
        closed = close;
      }
      pos = next;
    }
    if (part_start == std::string_view::npos) {
      problem(number, "no part found: the boundary never occurs");
    } else if (!closed) {
      problem(number, "no closing boundary: the mail may be truncated");
      (void)addPart(body.substr(std::min(part_start, body.size())), number, ++index, depth, default_type);
    }
  }

  bool addPart(std::string_view text, const std::string& parent, std::size_t index,
               std::size_t depth, std::string_view default_type) {
    if (++parts_ > limits_.max_parts) {
      if (!too_many_reported_) {
        problem(parent, fmt::format("more than {} parts: the rest not read", limits_.max_parts));
        too_many_reported_ = true;
      }
      return false;
    }
    const std::string number = parent.empty() ? std::to_string(index) : parent + "." + std::to_string(index);
    entity(text, number, depth, default_type, nullptr, nullptr);
    return true;
  }

  const MimeLimits& limits_;
  MimeTree& tree_;
  std::size_t parts_ = 0;
  bool too_many_reported_ = false;
};

}  // namespace

MimeTree walkMime(std::string_view mail, const MimeLimits& limits) {
  MimeTree tree;
  Walker walker(limits, tree);
  walker.entity(mail, "", 0, "text/plain", &tree.header, &tree.content_type);
  return tree;
}

}  // namespace mtasts::tlsrpt
