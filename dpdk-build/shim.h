/* Exported wrappers for DPDK's static-inline fast-path functions, which
 * bindgen cannot bind (they have no symbol in the shared libraries). */
#ifndef SATELLITE_DPDK_SHIM_H
#define SATELLITE_DPDK_SHIM_H
#include <stdint.h>
#include <rte_mbuf.h>
#include <rte_ethdev.h>

uint16_t sat_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
uint16_t sat_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
struct rte_mbuf *sat_pktmbuf_alloc(struct rte_mempool *mp);
int sat_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **pkts, unsigned n);
void sat_pktmbuf_free(struct rte_mbuf *m);
void sat_pktmbuf_free_bulk(struct rte_mbuf **pkts, unsigned n);
char *sat_pktmbuf_mtod(struct rte_mbuf *m);
uint32_t sat_pktmbuf_pkt_len(const struct rte_mbuf *m);
uint16_t sat_pktmbuf_data_len(const struct rte_mbuf *m);
uint16_t sat_pktmbuf_nb_segs(const struct rte_mbuf *m);
char *sat_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
char *sat_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len);
char *sat_pktmbuf_adj(struct rte_mbuf *m, uint16_t len);
uint16_t sat_pktmbuf_headroom(const struct rte_mbuf *m);
uint16_t sat_pktmbuf_tailroom(const struct rte_mbuf *m);
void sat_mbuf_refcnt_update(struct rte_mbuf *m, int16_t v);
uint16_t sat_mbuf_refcnt_read(const struct rte_mbuf *m);
int sat_pktmbuf_linearize(struct rte_mbuf *m);
struct rte_mbuf *sat_pktmbuf_copy(const struct rte_mbuf *m, struct rte_mempool *mp);
void sat_prefetch0(const void *p);
unsigned sat_lcore_id(void);
int sat_errno(void);
uint64_t sat_rdtsc(void);
uint64_t sat_get_tsc_hz(void);
#endif
