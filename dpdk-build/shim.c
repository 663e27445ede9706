/* Out-of-line copies of DPDK's static-inline fast path; see shim.h. */
#include "shim.h"
#include <rte_lcore.h>
#include <rte_errno.h>
#include <rte_cycles.h>
#include <rte_prefetch.h>

uint16_t sat_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{ return rte_eth_rx_burst(port, queue, pkts, n); }
uint16_t sat_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{ return rte_eth_tx_burst(port, queue, pkts, n); }
struct rte_mbuf *sat_pktmbuf_alloc(struct rte_mempool *mp) { return rte_pktmbuf_alloc(mp); }
int sat_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **pkts, unsigned n)
{ return rte_pktmbuf_alloc_bulk(mp, pkts, n); }
void sat_pktmbuf_free(struct rte_mbuf *m) { rte_pktmbuf_free(m); }
void sat_pktmbuf_free_bulk(struct rte_mbuf **pkts, unsigned n) { rte_pktmbuf_free_bulk(pkts, n); }
char *sat_pktmbuf_mtod(struct rte_mbuf *m) { return rte_pktmbuf_mtod(m, char *); }
uint32_t sat_pktmbuf_pkt_len(const struct rte_mbuf *m) { return rte_pktmbuf_pkt_len(m); }
uint16_t sat_pktmbuf_data_len(const struct rte_mbuf *m) { return rte_pktmbuf_data_len(m); }
uint16_t sat_pktmbuf_nb_segs(const struct rte_mbuf *m) { return m->nb_segs; }
char *sat_pktmbuf_append(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_append(m, len); }
char *sat_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_prepend(m, len); }
char *sat_pktmbuf_adj(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_adj(m, len); }
uint16_t sat_pktmbuf_headroom(const struct rte_mbuf *m) { return rte_pktmbuf_headroom(m); }
uint16_t sat_pktmbuf_tailroom(const struct rte_mbuf *m) { return rte_pktmbuf_tailroom(m); }
void sat_mbuf_refcnt_update(struct rte_mbuf *m, int16_t v) { rte_mbuf_refcnt_update(m, v); }
uint16_t sat_mbuf_refcnt_read(const struct rte_mbuf *m) { return rte_mbuf_refcnt_read(m); }
int sat_pktmbuf_linearize(struct rte_mbuf *m) { return rte_pktmbuf_linearize(m); }
struct rte_mbuf *sat_pktmbuf_copy(const struct rte_mbuf *m, struct rte_mempool *mp)
{ return rte_pktmbuf_copy(m, mp, 0, UINT32_MAX); }
void sat_prefetch0(const void *p) { rte_prefetch0(p); }
unsigned sat_lcore_id(void) { return rte_lcore_id(); }
int sat_errno(void) { return rte_errno; }
uint64_t sat_rdtsc(void) { return rte_rdtsc(); }
uint64_t sat_get_tsc_hz(void) { return rte_get_tsc_hz(); }
