#pragma once
// One thread, alive as long as its owner, that runs what it is given and hands back the result.
// Faults are applied on it rather than on an RPC thread: a child forked in apply (cpu_stress's
// workers) is bound to its parent *thread* by PR_SET_PDEATHSIG, and gRPC retires idle threads.
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace faultline {

class Actuator {
 public:
  Actuator() : thread_([this] { loop(); }) {}
  ~Actuator() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  Actuator(const Actuator&) = delete;
  Actuator& operator=(const Actuator&) = delete;

  // Runs `job` on the actuator's thread and waits for its result.
  template <typename Job>
  auto run(Job&& job) -> decltype(job()) {
    std::packaged_task<decltype(job())()> task(std::forward<Job>(job));
    auto result = task.get_future();
    {
      std::lock_guard lock(mutex_);
      jobs_.emplace_back([&task] { task(); });
    }
    wake_.notify_one();
    return result.get();
  }

 private:
  void loop() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::thread thread_;  // last: it starts once the rest is built
};

}  // namespace faultline
