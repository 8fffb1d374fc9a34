// Worker tests run real builds (debootstrap roots, bubblewrap, cgroups) that share a host-wide
// cache and two CPU cores: test files run one at a time, and the build child is bundled first
// (tests start it from dist/, as production does).
import { mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

export default mergeConfig(shared, {
  test: {
    fileParallelism: false,
    globalSetup: ['./src/test-support/global-setup.ts'],
  },
});
