// tandem::aio's side of W3, W3b, W4 and the echo: being written (see bench/asio_peers.cpp).
#include <cstdio>

int main() {
  std::fprintf(stderr, "tandem_aio_bench: not written yet\n");
  return 2;
}
