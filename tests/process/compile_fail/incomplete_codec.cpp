// Must not compile: a tandem::codec specialisation without decode.
#include "tandem/process/codec.hpp"

struct point {
  int x, y;
};

template <>
struct tandem::codec<point> {
  static void encode(tandem::encoder& e, const point& p) { tandem::encode_all(e, p.x, p.y); }
};

void send(tandem::encoder& e, const point& p) { tandem::encode(e, p); }
