// A process-wide pool of kernel threads for the largest kernels (batched GEMM, element-wise loops).
// The default is 1 (no pool): the project's parallelism is its sampler workers, and a second thread
// per kernel would compete with them. Callers raise it only around work that runs while the workers
// are idle (a training run's outer step). Splitting never changes a result: every output element is
// computed by the same code on the same inputs, whichever thread computes it.
#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels.h"

namespace tmaml {

namespace {

struct Pool {
  std::mutex m;
  std::condition_variable wake;
  std::condition_variable done;
  std::vector<std::thread> workers;
  uint64_t generation = 0;
  int pending = 0;
  int parts = 1;
  int64_t count = 0;
  const RangeFn* job = nullptr;
  int wanted = 1;
  // Jobs that were split over more than one thread since the process started (a diagnostic).
  uint64_t splitJobs = 0;
  // Held by the thread running a split job: a second caller (another JS thread) runs serially.
  std::mutex busy;
};

// Never destroyed: its threads block on `wake` until the process exits.
Pool& pool() {
  static Pool* p = new Pool();
  return *p;
}

// `seen` starts at the generation current when the worker was made (under p->m), so a worker added
// after earlier jobs never takes a finished job for a new one.
void workerLoop(Pool* p, int index, uint64_t seen) {
  for (;;) {
    std::unique_lock<std::mutex> lock(p->m);
    p->wake.wait(lock, [&] { return p->generation != seen; });
    seen = p->generation;
    if (index >= p->parts || p->job == nullptr) continue;
    const RangeFn* job = p->job;
    const int64_t begin = p->count * index / p->parts, end = p->count * (index + 1) / p->parts;
    lock.unlock();
    (*job)(begin, end);
    lock.lock();
    if (--p->pending == 0) p->done.notify_one();
  }
}

}  // namespace

void setThreads(int n) {
  Pool& p = pool();
  std::lock_guard<std::mutex> held(p.busy);
  std::lock_guard<std::mutex> lock(p.m);
  const int want = n < 1 ? 1 : n > kMaxThreads ? kMaxThreads : n;
  while (static_cast<int>(p.workers.size()) + 1 < want) {
    p.workers.emplace_back(workerLoop, &p, static_cast<int>(p.workers.size()) + 1, p.generation);
    p.workers.back().detach();
  }
  p.wanted = want;
}

int threads() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.m);
  return p.wanted;
}

uint64_t splitJobs() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.m);
  return p.splitJobs;
}

void parallelFor(int64_t count, int64_t grain, const RangeFn& f, int64_t align) {
  if (count <= 0) return;
  if (align > 1) {
    // Split in whole blocks of `align` items: only the last range has a partial block.
    const int64_t blocks = (count + align - 1) / align;
    const RangeFn inBlocks = [&](int64_t b0, int64_t b1) { f(b0 * align, std::min(b1 * align, count)); };
    parallelFor(blocks, std::max<int64_t>(1, grain / align), inBlocks, 1);
    return;
  }
  Pool& p = pool();
  int parts;
  {
    std::lock_guard<std::mutex> lock(p.m);
    parts = p.wanted;
  }
  const int64_t byGrain = grain > 0 ? count / grain : count;
  if (byGrain < parts) parts = static_cast<int>(byGrain);
  std::unique_lock<std::mutex> held(p.busy, std::try_to_lock);
  if (parts < 2 || !held.owns_lock()) {
    f(0, count);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(p.m);
    p.job = &f;
    p.count = count;
    p.parts = parts;
    p.pending = parts - 1;
    p.generation++;
    p.splitJobs++;
  }
  p.wake.notify_all();
  f(0, count / parts);
  std::unique_lock<std::mutex> lock(p.m);
  p.done.wait(lock, [&] { return p.pending == 0; });
  p.job = nullptr;
}

}  // namespace tmaml
