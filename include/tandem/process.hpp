// tandem's process layer: process_pool (multiprocessing.Pool / ProcessPoolExecutor), the codec
// that carries arguments and results, and shared_array. One include; docs/process.md is the guide.
#pragma once

#include "tandem/process/callable.hpp"
#include "tandem/process/codec.hpp"
#include "tandem/process/process_pool.hpp"
#include "tandem/process/shared_array.hpp"
#include "tandem/process/start.hpp"
