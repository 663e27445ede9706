//! Finds the system DPDK with pkg-config, compiles the inline shim with the
//! same cflags, and generates bindings allowlisted to what Satellite uses.
use std::{env, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=wrapper.h");
    println!("cargo:rerun-if-changed=shim.h");
    println!("cargo:rerun-if-changed=shim.c");

    let dpdk = pkg_config::Config::new()
        .atleast_version("22.11")
        .probe("libdpdk")
        .unwrap_or_else(|e| {
            panic!(
                "DPDK not found by pkg-config ({e}).\n\
                 Install it with: sudo dpdk-build/install-deps.sh"
            )
        });

    // pkg-config's cflags carry -include rte_config.h and -march; both matter
    // for struct layout, so the shim and bindgen get exactly the same flags.
    let cflags = pkg_config::get_variable("libdpdk", "cflags").ok();
    let cflags: Vec<String> = std::process::Command::new("pkg-config")
        .args(["--cflags", "libdpdk"])
        .output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        })
        .or_else(|| cflags.map(|c| c.split_whitespace().map(str::to_owned).collect()))
        .unwrap_or_default();

    // rte_vdev_init lives in the vdev bus driver, which pkg-config's
    // application libs leave out.
    println!("cargo:rustc-link-lib=rte_bus_vdev");

    let mut build = cc::Build::new();
    build.file("shim.c").opt_level(3).warnings(false);
    for inc in &dpdk.include_paths {
        build.include(inc);
    }
    let mut it = cflags.iter();
    while let Some(f) = it.next() {
        if f == "-include" {
            if let Some(h) = it.next() {
                build.flag("-include").flag(h);
            }
        } else if f.starts_with("-march") || f.starts_with("-m") {
            build.flag(f);
        }
    }
    build.compile("satellite_dpdk_shim");

    let mut clang_args: Vec<String> = Vec::new();
    let mut it = cflags.iter();
    while let Some(f) = it.next() {
        if f == "-include" {
            if let Some(h) = it.next() {
                clang_args.push("-include".into());
                clang_args.push(h.clone());
            }
        } else {
            clang_args.push(f.clone());
        }
    }
    clang_args.push("-I.".into());

    let bindings = bindgen::Builder::default()
        .header("wrapper.h")
        .clang_args(&clang_args)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .allowlist_function("rte_eal_init|rte_eal_cleanup|rte_eal_process_type|rte_eal_get_runtime_dir")
        .allowlist_function("rte_thread_register|rte_thread_unregister|rte_lcore_count|rte_socket_id")
        .allowlist_function("rte_strerror|rte_exit")
        .allowlist_function("rte_pktmbuf_pool_create|rte_mempool_free|rte_mempool_avail_count|rte_mempool_in_use_count")
        .allowlist_function("rte_eth_dev_count_avail|rte_eth_dev_configure|rte_eth_dev_start|rte_eth_dev_stop|rte_eth_dev_close")
        .allowlist_function("rte_eth_rx_queue_setup|rte_eth_tx_queue_setup|rte_eth_dev_info_get|rte_eth_dev_socket_id")
        .allowlist_function("rte_eth_link_get_nowait|rte_eth_macaddr_get|rte_eth_promiscuous_enable|rte_eth_allmulticast_enable")
        .allowlist_function("rte_eth_dev_get_name_by_port|rte_eth_dev_get_port_by_name|rte_eth_stats_get|rte_eth_dev_is_valid_port")
        .allowlist_function("rte_eth_dev_set_mtu|rte_eth_dev_get_mtu")
        .allowlist_function("rte_vdev_init|rte_vdev_uninit")
        .allowlist_function("rte_malloc_socket|rte_free|rte_eal_has_hugepages")
        .allowlist_function("sat_.*")
        .allowlist_type("rte_eth_conf|rte_eth_dev_info|rte_eth_link|rte_eth_stats|rte_ether_addr|rte_mbuf|rte_mempool")
        .allowlist_var("RTE_MAX_ETHPORTS|RTE_ETH_LINK_.*|RTE_MBUF_DEFAULT_BUF_SIZE|RTE_PKTMBUF_HEADROOM|RTE_MAX_LCORE|RTE_ETH_NAME_MAX_LEN|SOCKET_ID_ANY|LCORE_ID_ANY")
        // These unions/packed structs defeat bindgen's layout; we never touch their fields.
        .opaque_type("rte_arp_ipv4|rte_arp_hdr|rte_l2tpv2_combined_msg_hdr|rte_gtp_psc_generic_hdr")
        .opaque_type("rte_mbuf_sched|rte_mempool_objhdr")
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .generate()
        .expect("bindgen failed on the DPDK headers");

    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("cannot write bindings");
}
