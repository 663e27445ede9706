/* Headers the project binds. Keep this list to what satellite-dataplane uses. */
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_cycles.h>
#include <rte_bus_vdev.h>
#include <rte_malloc.h>
#include "shim.h"
