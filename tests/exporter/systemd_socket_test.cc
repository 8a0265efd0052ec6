// --web.systemd-socket: sockets passed as systemd does (LISTEN_PID/LISTEN_FDS, fds from 3 on)
// are taken; no variables, another process's variables or a socket that does not listen are
// refused with a reason.
#include "exporter/systemd_socket.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace nfct::testing {
namespace {

#ifdef NFCT_HAVE_SYSTEMD_TEST
constexpr bool kHaveSystemd = true;
#else
constexpr bool kHaveSystemd = false;
#endif

int Socket(int type, bool listening) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  if (listening) listen(fd, 16);
  return fd;
}

// Puts a new socket at fd 3 as systemd would, keeping whatever fd 3 was, and restores it.
class PassedSocket {
 public:
  PassedSocket(int type, bool listening) {
    saved_ = fcntl(3, F_DUPFD_CLOEXEC, 10);  // -1 when fd 3 was closed
    int fd = Socket(type, listening);
    if (fd != 3) {
      dup2(fd, 3);
      close(fd);
    }
    setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
    setenv("LISTEN_FDS", "1", 1);
  }
  ~PassedSocket() {
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    if (saved_ >= 0) {
      dup2(saved_, 3);
      close(saved_);
    } else {
      close(3);
    }
  }
  PassedSocket(const PassedSocket&) = delete;
  PassedSocket& operator=(const PassedSocket&) = delete;

 private:
  int saved_;
};

TEST(SystemdSocketTest, TakesAListeningSocket) {
  if (!kHaveSystemd) GTEST_SKIP() << "built without libsystemd";
  PassedSocket passed(SOCK_STREAM, true);
  auto taken = TakeSystemdSockets();
  EXPECT_EQ(taken.error, "");
  EXPECT_EQ(taken.fds, std::vector<int>{3});
  EXPECT_EQ(getenv("LISTEN_FDS"), nullptr);  // not inherited by anything this process starts
  EXPECT_EQ(fcntl(3, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

TEST(SystemdSocketTest, RefusesWhatIsNotAListeningStreamSocket) {
  if (!kHaveSystemd) GTEST_SKIP() << "built without libsystemd";
  {
    PassedSocket passed(SOCK_DGRAM, false);
    EXPECT_EQ(TakeSystemdSockets().error,
              "file descriptor 3 passed by systemd is not a listening stream socket");
  }
  {
    PassedSocket passed(SOCK_STREAM, false);
    EXPECT_NE(TakeSystemdSockets().error, "");
  }
}

TEST(SystemdSocketTest, NothingPassed) {
  unsetenv("LISTEN_FDS");
  auto none = TakeSystemdSockets();
  EXPECT_TRUE(none.fds.empty());
  EXPECT_NE(none.error, "");
  if (!kHaveSystemd) return;
  EXPECT_NE(none.error.find("no socket passed by systemd"), std::string::npos) << none.error;
  // Variables meant for another process (the parent's) are not ours.
  setenv("LISTEN_PID", std::to_string(getpid() + 1).c_str(), 1);
  setenv("LISTEN_FDS", "1", 1);
  EXPECT_NE(TakeSystemdSockets().error.find("no socket passed by systemd"), std::string::npos);
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
}

}  // namespace
}  // namespace nfct::testing
