// How a session makes the images its runs produce without importing `ContreeImage` at run
// time (image.ts imports session.ts for `image.session()`, so the other way would close an
// import circle). Each client's images manager, which holds the class, registers a maker.
import type { ContreeImage, ContreeImageInit } from "./image.ts";

/** Makes an image of the client it was registered for. */
export type ImageMaker = <O, E>(init: ContreeImageInit<O, E>) => ContreeImage<O, E>;

const makers = new WeakMap<object, ImageMaker>();

/** Registers how images of `owner` (a `Contree`) are made. */
export function registerImageMaker(owner: object, maker: ImageMaker): void {
  makers.set(owner, maker);
}

/** An image of `owner` (a `Contree`, whose images manager registered a maker). */
export function makeImage<O, E>(owner: object, init: ContreeImageInit<O, E>): ContreeImage<O, E> {
  return makers.get(owner)!(init);
}
