// Cold boot of the reference appliance to all four health probes answering 200, median of several
// runs, with the accelerator used. Targets: < 25 s under TCG on the reference machine, < 10 s with KVM.
import { performance } from 'node:perf_hooks';
import { median, writeBenchResult } from '../../../tools/testing/bench.js';
import { chooseBuildAccelerator, ensureApplianceImage } from '../src/index.js';
import { allHealthy, bootAppliance, until } from '../test/boot-vm.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
// BENCH_FIRMWARE=1 boots through UEFI firmware (OVMF) instead of the kernel directly, for comparison.
const viaFirmware = process.env.BENCH_FIRMWARE === '1';
const reference = new URL('../../../images/reference', import.meta.url).pathname;
const { image, boot } = await ensureApplianceImage({
  applianceDir: reference,
  arch: 'amd64',
  name: 'reference',
  onPhase: (p) => console.error(p),
});
const { accel: chosen, reason: why } = await chooseBuildAccelerator('amd64');
const accel = chosen === 'kvm' ? 'kvm' : 'tcg';
const times: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now();
  const vm = await bootAppliance(image, { layout: 'cold', accel, boot: viaFirmware ? undefined : boot });
  try {
    await until('all healthy', () => allHealthy(vm.ports), 300_000, 100);
    times.push((performance.now() - t0) / 1000);
    console.log(`  run ${i + 1}: ${times.at(-1)!.toFixed(1)} s`);
  } finally {
    vm.dispose();
  }
}
const bootPath = viaFirmware ? 'uefi-firmware' : 'direct-kernel';
const r = {
  accel,
  accelReason: why,
  boot: bootPath,
  medianS: median(times),
  samplesS: times,
  targetS: accel === 'tcg' ? 25 : 10,
};
console.log(
  `cold boot to all-healthy (reference appliance, ${bootPath}, ${accel}: ${why}): median ${r.medianS.toFixed(1)} s over ${RUNS} runs; target < ${r.targetS} s: ${r.medianS < r.targetS ? 'met' : 'NOT met'}`,
);
console.log(`written: ${writeBenchResult(viaFirmware ? 'reference-cold-boot-firmware' : 'reference-cold-boot', r)}`);
