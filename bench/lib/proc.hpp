// SPDX-License-Identifier: Apache-2.0
// Resource use of the system under test, read from /proc: CPU time and memory of a process tree.
//
// A gateway may be one process (ttygated, ser2net), threads (stunnel) or a process per session
// (socat fork), so every figure covers the given root processes and all their descendants.
// CPU time includes reaped children (cutime, cstime), so a session process that exited during a
// measurement still counts.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/concat.hpp"

namespace ttygate::bench {

struct TreeUsage {
  double cpu_s = 0;           // utime + stime + cutime + cstime
  double sys_s = 0;           // stime + cstime: the kernel's share of cpu_s
  std::uint64_t rss_kib = 0;  // VmRSS summed over the tree
  std::uint64_t pss_kib = 0;  // Pss summed over the tree (shared pages split between sharers)
  int processes = 0;
};

inline std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Fields of /proc/<pid>/stat after the command name (which may hold spaces); field 3 is index 0.
inline std::vector<std::string> stat_fields(int pid) {
  std::string s = read_text(concat({"/proc/", std::to_string(pid), "/stat"}));
  std::vector<std::string> out;
  auto close = s.rfind(')');
  if (close == std::string::npos) return out;
  std::istringstream in(s.substr(close + 2));
  for (std::string f; in >> f;) out.push_back(f);
  return out;
}

inline std::set<int> tree_of(const std::vector<int>& roots) {
  std::map<int, std::vector<int>> children;
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      int pid = std::atoi(e->d_name);
      if (pid <= 0) continue;
      auto f = stat_fields(pid);
      if (f.size() > 1) children[std::stoi(f[1])].push_back(pid);
    }
    closedir(d);
  }
  std::set<int> seen;
  std::vector<int> todo(roots.begin(), roots.end());
  while (!todo.empty()) {
    int p = todo.back();
    todo.pop_back();
    if (!seen.insert(p).second) continue;
    for (int c : children[p]) todo.push_back(c);
  }
  return seen;
}

inline std::uint64_t status_kib(const std::string& text, const std::string& key) {
  auto at = text.find(concat({"\n", key, ":"}));
  if (at == std::string::npos) return 0;
  return std::stoull(text.substr(at + key.size() + 2));
}

inline TreeUsage tree_usage(const std::vector<int>& roots) {
  TreeUsage u;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (int pid : tree_of(roots)) {
    auto f = stat_fields(pid);
    if (f.size() < 15) continue;
    u.cpu_s += (std::stod(f[11]) + std::stod(f[12]) + std::stod(f[13]) + std::stod(f[14])) / tick;
    u.sys_s += (std::stod(f[12]) + std::stod(f[14])) / tick;
    std::string dir = concat({"/proc/", std::to_string(pid)});
    u.rss_kib += status_kib(concat({"\n", read_text(dir + "/status")}), "VmRSS");
    u.pss_kib += status_kib(concat({"\n", read_text(dir + "/smaps_rollup")}), "Pss");
    ++u.processes;
  }
  return u;
}

}  // namespace ttygate::bench
