export { ForwardPlane } from './ForwardPlane';
export { Relay } from './Relay';
export type * from './types';
