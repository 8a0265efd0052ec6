// --web.systemd-socket: sockets passed as systemd does (LISTEN_PID/LISTEN_FDS, fds from 3 on)
// are taken and the variables unset; no variables, another process's variables, a count that is
// not a number, and a descriptor that is not a listening TCP socket are refused with a reason.
#include "exporter/web/systemd_socket.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace nfct::testing {
namespace {

int InetSocket(int type, bool listening) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  if (listening) {
    EXPECT_EQ(listen(fd, 16), 0);
  }
  return fd;
}

int ListeningUnixSocket() {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // Abstract name (leading NUL): nothing on disk to clean up.
  std::string name = "nfct-systemd-socket-test-" + std::to_string(getpid());
  name.copy(addr.sun_path + 1, sizeof(addr.sun_path) - 2);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr),
                 static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size())),
            0);
  EXPECT_EQ(listen(fd, 16), 0);
  return fd;
}

int PipeReadEnd() {
  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
  close(fds[1]);
  return fds[0];
}

using MakeFd = std::function<int()>;

MakeFd Listening() {
  return [] { return InetSocket(SOCK_STREAM, true); };
}

// Puts what each `make` opens at 3, 4, ... as systemd would (nullptr leaves that slot closed),
// with LISTEN_PID/LISTEN_FDS set for this process, and restores what the slots held before.
class Passed {
 public:
  explicit Passed(std::vector<MakeFd> make) {
    for (size_t i = 0; i < make.size(); ++i) {
      saved_.push_back(fcntl(Slot(i), F_DUPFD_CLOEXEC, 10));  // -1 when the slot was closed
    }
    // Opened first and moved out of the way, so that none of them sits in a slot yet.
    std::vector<int> opened;
    for (auto& m : make) {
      int fd = m ? m() : -1;
      opened.push_back(fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 20));
      if (fd >= 0) close(fd);
    }
    for (size_t i = 0; i < opened.size(); ++i) {
      if (opened[i] < 0) {
        close(Slot(i));
      } else {
        dup2(opened[i], Slot(i));
        close(opened[i]);
      }
    }
    setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
    setenv("LISTEN_FDS", std::to_string(make.size()).c_str(), 1);
  }
  ~Passed() {
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    for (size_t i = 0; i < saved_.size(); ++i) {
      if (saved_[i] >= 0) {
        dup2(saved_[i], Slot(i));
        close(saved_[i]);
      } else {
        close(Slot(i));
      }
    }
  }
  Passed(const Passed&) = delete;
  Passed& operator=(const Passed&) = delete;

 private:
  static int Slot(size_t i) { return 3 + static_cast<int>(i); }
  std::vector<int> saved_;
};

TEST(SystemdSocketTest, TakesListeningSockets) {
  Passed passed({Listening(), Listening()});
  fcntl(3, F_SETFD, 0);  // systemd passes them without close-on-exec
  setenv("LISTEN_FDNAMES", "metrics:metrics", 1);
  auto taken = TakeSystemdSockets();
  EXPECT_EQ(taken.error, "");
  EXPECT_EQ(taken.fds, (std::vector<int>{3, 4}));
  // Not inherited by anything this process starts.
  EXPECT_EQ(getenv("LISTEN_FDS"), nullptr);
  EXPECT_EQ(getenv("LISTEN_PID"), nullptr);
  EXPECT_EQ(getenv("LISTEN_FDNAMES"), nullptr);
  EXPECT_EQ(fcntl(3, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  EXPECT_EQ(fcntl(4, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

TEST(SystemdSocketTest, RefusesWhatIsNotAListeningTcpSocket) {
  struct Case {
    MakeFd make;
    std::string why;
  };
  for (auto& [make, why] : std::vector<Case>{
           {[] { return InetSocket(SOCK_DGRAM, false); }, "is not a stream (TCP) socket"},
           {[] { return InetSocket(SOCK_STREAM, false); },
            "is a stream socket that does not listen"},
           {ListeningUnixSocket, "is not an IPv4 or IPv6 socket"},
           {PipeReadEnd, "is not a socket"},
       }) {
    Passed passed({Listening(), make});
    auto taken = TakeSystemdSockets();
    EXPECT_EQ(taken.error, "file descriptor 4 passed by systemd " + why +
                               "; --web.systemd-socket serves ListenStream= TCP sockets only");
    EXPECT_TRUE(taken.fds.empty());  // all or nothing
  }
  Passed passed({Listening(), nullptr});
  EXPECT_NE(TakeSystemdSockets().error.find("file descriptor 4 passed by systemd is not open"),
            std::string::npos);
}

TEST(SystemdSocketTest, NothingPassed) {
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  auto none = TakeSystemdSockets();
  EXPECT_TRUE(none.fds.empty());
  EXPECT_NE(none.error.find("no socket passed by systemd"), std::string::npos) << none.error;
}

// Variables meant for another process (a parent's), or a LISTEN_PID that is not a number, are not
// ours: nothing is taken, fd 3 is left alone, and the variables are still unset.
TEST(SystemdSocketTest, VariablesForAnotherProcess) {
  for (std::string pid : {std::to_string(getpid() + 1), std::string("abc"), std::string(""),
                          std::to_string(getpid()) + "x"}) {
    Passed passed({Listening()});
    fcntl(3, F_SETFD, 0);
    setenv("LISTEN_PID", pid.c_str(), 1);
    auto taken = TakeSystemdSockets();
    EXPECT_TRUE(taken.fds.empty()) << pid;
    EXPECT_NE(taken.error.find("no socket passed by systemd"), std::string::npos) << pid;
    EXPECT_EQ(getenv("LISTEN_FDS"), nullptr) << pid;
    EXPECT_EQ(fcntl(3, F_GETFD) & FD_CLOEXEC, 0) << pid;
  }
}

TEST(SystemdSocketTest, CountThatIsNotANumber) {
  for (std::string count : {"", "x", "1x", "-1", " 1", "99999999999999999999999"}) {
    Passed passed({Listening()});
    setenv("LISTEN_FDS", count.c_str(), 1);
    auto taken = TakeSystemdSockets();
    EXPECT_TRUE(taken.fds.empty()) << count;
    EXPECT_EQ(taken.error, "LISTEN_FDS=\"" + count + "\" is not a count of descriptors");
  }
  Passed passed({});
  EXPECT_NE(TakeSystemdSockets().error.find("LISTEN_FDS=0"), std::string::npos);
}

}  // namespace
}  // namespace nfct::testing
