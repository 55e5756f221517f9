/**
 * A host's own addresses, as `ip -j addr show` prints them, and the one question kubelab
 * asks of them: does this host have an address in the lab network, and on which interface.
 */
import { containsAddress, type Ipv4Range } from "./ipv4.js";

/** One interface of `ip -j addr show`, with the fields kubelab reads. */
export interface IpAddrLink {
  readonly ifname: string;
  readonly addr_info?: readonly {
    readonly family?: string;
    readonly local?: string;
    readonly prefixlen?: number;
  }[];
}

/** An address of this host and the interface that holds it. */
export interface HostAddress {
  readonly ifname: string;
  readonly address: string;
}

/**
 * addressIn returns the first address inside `network` among the host's interfaces (`links`,
 * from `ip -j addr show`), skipping the interfaces named in `except`; undefined when the host
 * has none. This is the only place that answers "is this host on the lab network".
 */
export function addressIn(
  links: readonly IpAddrLink[],
  network: Ipv4Range,
  except: readonly string[] = [],
): HostAddress | undefined {
  for (const link of links) {
    if (except.includes(link.ifname)) continue;
    for (const a of link.addr_info ?? []) {
      if (a.local !== undefined && containsAddress(network, a.local)) return { ifname: link.ifname, address: a.local };
    }
  }
  return undefined;
}
