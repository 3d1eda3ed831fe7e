// weft/weft.hpp: everything in weft's core. See README.md for the tour.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <weft/blocking.hpp>
#include <weft/chan.hpp>
#include <weft/condition_variable.hpp>
#include <weft/dump.hpp>
#include <weft/errors.hpp>
#include <weft/go.hpp>
#include <weft/goroutine_local.hpp>
#include <weft/mutex.hpp>
#include <weft/net.hpp>
#include <weft/net_io.hpp>
#include <weft/once.hpp>
#include <weft/run.hpp>
#include <weft/scope.hpp>
#include <weft/select.hpp>
#include <weft/semaphore.hpp>
#include <weft/shared_mutex.hpp>
#include <weft/stop_callback.hpp>
#include <weft/thread.hpp>
#include <weft/timer.hpp>
#include <weft/wait_group.hpp>
