/**
 * The 9p device of share slot `i`, the same whether hot-plugged (device_add after a boot or resume)
 * or on the command line (a session resumed with the devices it had when saved): a migration target
 * must have the devices the source had, under the same ids and buses.
 */
export function shareDevice(i: number): {
  driver: 'virtio-9p-pci';
  id: string;
  fsdev: string;
  mount_tag: string;
  bus: string;
} {
  return {
    driver: 'virtio-9p-pci',
    id: `share${i}-dev`,
    fsdev: `share${i}`,
    mount_tag: shareTag(i),
    bus: `share-port${i}`,
  };
}

/** The 9p mount tag of share slot `i`: not the guest contract's `hostfs`, which images' own hooks mount on /host. */
export function shareTag(i: number): string {
  return `stackshare${i}`;
}
