/**
 * The demo page: the arena in a canvas, played through the SDK.
 *
 * Remote entities are drawn from the interpolation buffer (a little in the past, smooth);
 * the local player from the predictor (at once, reconciled with the server's acks). The
 * camera follows the player; WASD or the arrows move, the mouse aims, a click or space
 * fires. The HUD shows the connection's figures, and `window.tickcast` exposes them to
 * the browser test.
 *
 * `?spectate` watches the whole world as a spectator (no player, no inputs): the camera
 * fits the map to the window; `?spectate=x,y` watches the area around that point. Either
 * way a drag, WASD or the arrows pan, the wheel zooms, and F goes back to the first view.
 */
export {};
