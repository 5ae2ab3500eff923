// The 3D page: a task's point cloud (streamed block by block), textured model (GLB) and camera frusta, with
// orbit/pan/zoom, a reset, and distances between two picked points. The files and their layout are described in
// webapp/services/models3d.py. The world is the results' CRS (metres east, north, up) minus the scene's origin.
import * as THREE from "three";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";

const config = JSON.parse(document.getElementById("view3d-config").textContent);
const container = document.getElementById("view3d");
const statusLine = document.getElementById("view3d-status");
const FRUSTUM_SHARE = 0.04;  // a frustum's depth, as a share of the scene's size
const CLICK_PIXELS = 4;  // a press and release closer than this is a click (a pick), not a drag

const renderer = new THREE.WebGLRenderer({antialias: true, preserveDrawingBuffer: true});
renderer.setPixelRatio(window.devicePixelRatio);
renderer.setClearColor(0x20242a);
container.prepend(renderer.domElement);
const scene = new THREE.Scene();
const camera = new THREE.PerspectiveCamera(50, 1, 0.1, 1000);
camera.up.set(0, 0, 1);  // z is up in the results' CRS
const controls = new OrbitControls(camera, renderer.domElement);
const layers = {points: new THREE.Group(), model: new THREE.Group(), cameras: new THREE.Group()};
const measureGroup = new THREE.Group();
Object.values(layers).forEach((group) => scene.add(group));
scene.add(measureGroup);
const pointMaterial = new THREE.PointsMaterial({size: 2, vertexColors: true, sizeAttenuation: false});
let bounds = null;  // {centre, radius} of the scene
let pending = 2;  // the point cloud and the model: the view is "ready" once both are in (or absent)

function render() {
  renderer.render(scene, camera);
}

function resize() {
  const {clientWidth: width, clientHeight: height} = container;
  renderer.setSize(width, height, false);
  camera.aspect = width / Math.max(height, 1);
  camera.updateProjectionMatrix();
  render();
}

function say(text) {
  statusLine.textContent = text;
}

function oneLoaded() {
  pending -= 1;
  if (pending === 0) {
    say("");
    container.dataset.ready = "true";
  }
}

// --- the view ---------------------------------------------------------------------------------------------------

function resetView() {
  const {centre, radius} = bounds;
  camera.near = radius / 1000;
  camera.far = radius * 100;
  camera.position.set(centre.x, centre.y - 1.6 * radius, centre.z + 1.2 * radius);
  camera.updateProjectionMatrix();
  controls.target.copy(centre);
  controls.update();
  render();
}

function setBounds(sceneInfo) {
  // The reset view frames the cloud, the model and the cameras above them.
  const box = new THREE.Box3(...sceneInfo.bounds.map((corner) => new THREE.Vector3(...corner)));
  sceneInfo.cameras.forEach((shot) => box.expandByPoint(new THREE.Vector3(...shot.position)));
  bounds = {centre: box.getCenter(new THREE.Vector3()), radius: Math.max(box.max.distanceTo(box.min) / 2, 1)};
}

// --- the point cloud, streamed ----------------------------------------------------------------------------------

function blockBytes(count) {
  return count * 15 + ((4 - (count * 3) % 4) % 4);  // float32 x y z, uint8 r g b, padding to 4 bytes
}

function addBlock(bytes, count) {
  const copy = bytes.slice().buffer;  // an aligned buffer of its own
  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute("position", new THREE.BufferAttribute(new Float32Array(copy, 0, count * 3), 3));
  geometry.setAttribute("color", new THREE.BufferAttribute(new Uint8Array(copy, count * 12, count * 3), 3, true));
  geometry.computeBoundingSphere();
  layers.points.add(new THREE.Points(geometry, pointMaterial));
}

async function streamPoints(info) {
  const response = await fetch(config.points);
  if (!response.ok) throw new Error(`the point cloud answered ${response.status}`);
  const reader = response.body.getReader();
  let buffer = new Uint8Array(0);
  let loaded = 0;
  for (;;) {
    const {done, value} = await reader.read();
    if (value) {
      const joined = new Uint8Array(buffer.length + value.length);
      joined.set(buffer);
      joined.set(value, buffer.length);
      buffer = joined;
    }
    let added = false;
    while (loaded < info.count) {
      const count = Math.min(info.block, info.count - loaded);
      const size = blockBytes(count);
      if (buffer.length < size) break;
      addBlock(buffer.subarray(0, size), count);
      buffer = buffer.subarray(size);
      loaded += count;
      added = true;
    }
    if (added) {
      say(`Points: ${loaded.toLocaleString("en")} of ${info.count.toLocaleString("en")}`);
      render();
    }
    if (done) break;
  }
  if (loaded < info.count) throw new Error("the point cloud ended early");
}

// --- the textured model -----------------------------------------------------------------------------------------

function loadModel() {
  return new Promise((resolve, reject) => {
    new GLTFLoader().load(config.model, (gltf) => {
      // Photo textures already hold the light: show them as they are, from both sides.
      gltf.scene.traverse((object) => {
        if (object.isMesh) {
          object.material = new THREE.MeshBasicMaterial({map: object.material.map || null, side: THREE.DoubleSide,
                                                         color: object.material.map ? 0xffffff : 0xb0b0b0});
        }
      });
      gltf.scene.rotation.x = Math.PI / 2;  // glTF is y-up; the scene is z-up
      layers.model.add(gltf.scene);
      render();
      resolve();
    }, undefined, reject);
  });
}

// --- the cameras ------------------------------------------------------------------------------------------------

function addFrusta(cameras) {
  const depth = bounds.radius * FRUSTUM_SHARE;
  const vertices = [];
  for (const shot of cameras) {
    const apex = new THREE.Vector3(...shot.position);
    const [right, down, forward] = shot.axes.map((axis) => new THREE.Vector3(...axis));
    const halfWidth = (shot.aspect >= 1 ? 0.5 : 0.5 * shot.aspect) / shot.focal;
    const halfHeight = (shot.aspect >= 1 ? 0.5 / shot.aspect : 0.5) / shot.focal;
    const corners = [[-1, -1], [1, -1], [1, 1], [-1, 1]].map(([sx, sy]) => apex.clone().add(
      forward.clone().add(right.clone().multiplyScalar(sx * halfWidth))
        .add(down.clone().multiplyScalar(sy * halfHeight)).multiplyScalar(depth)));
    corners.forEach((corner, i) => vertices.push(apex, corner, corner, corners[(i + 1) % 4]));
  }
  const geometry = new THREE.BufferGeometry().setFromPoints(vertices);
  layers.cameras.add(new THREE.LineSegments(geometry, new THREE.LineBasicMaterial({color: 0xffa500})));
}

// --- measuring --------------------------------------------------------------------------------------------------

const measure = {on: false, points: []};
const raycaster = new THREE.Raycaster();

function pick(event) {
  const rect = renderer.domElement.getBoundingClientRect();
  const pointer = new THREE.Vector2(((event.clientX - rect.left) / rect.width) * 2 - 1,
                                    -((event.clientY - rect.top) / rect.height) * 2 + 1);
  raycaster.setFromCamera(pointer, camera);
  // A point is hit within a few pixels of the pointer, at the distance of the orbit's target.
  const pixelSize = 2 * Math.tan(THREE.MathUtils.degToRad(camera.fov) / 2)
    * camera.position.distanceTo(controls.target) / rect.height;
  const threshold = pixelSize * Math.max(pointMaterial.size, 3);
  raycaster.params.Points.threshold = threshold;
  // The model's surface is exact: it wins when shown. Among the points near the ray, the nearest ones in depth
  // are the surface; of those, the one closest to the ray is under the pointer.
  if (layers.model.visible) {
    const surface = raycaster.intersectObject(layers.model, true);
    if (surface.length) return surface[0].point.clone();
  }
  if (!layers.points.visible) return null;
  const hits = raycaster.intersectObject(layers.points, true);
  if (!hits.length) return null;
  const front = hits.filter((hit) => hit.distance < hits[0].distance + 4 * threshold);
  front.sort((a, b) => a.distanceToRay - b.distanceToRay);
  const {object, index} = front[0];  // the cloud's point itself, not its foot on the ray
  return new THREE.Vector3().fromBufferAttribute(object.geometry.attributes.position, index)
    .applyMatrix4(object.matrixWorld);
}

function marker(position) {
  const size = bounds.radius * 0.008;
  const sphere = new THREE.Mesh(new THREE.SphereGeometry(size, 12, 8),
                                new THREE.MeshBasicMaterial({color: 0xff2d55, depthTest: false}));
  sphere.position.copy(position);
  sphere.renderOrder = 2;
  measureGroup.add(sphere);
}

function showDistance() {
  const [a, b] = measure.points;
  const line = new THREE.Line(new THREE.BufferGeometry().setFromPoints([a, b]),
                              new THREE.LineBasicMaterial({color: 0xff2d55, depthTest: false}));
  line.renderOrder = 2;
  measureGroup.add(line);
  const horizontal = Math.hypot(b.x - a.x, b.y - a.y);
  document.getElementById("measure-result").textContent =
    `Distance: ${a.distanceTo(b).toFixed(2)} m (horizontal ${horizontal.toFixed(2)} m, ` +
    `height ${(b.z - a.z).toFixed(2)} m)`;
}

function clearMeasure() {
  measure.points = [];
  measureGroup.children.slice().forEach((child) => {
    measureGroup.remove(child);
    child.geometry.dispose();
  });
  document.getElementById("measure-result").textContent = "";
  render();
}

function onPick(event) {
  const point = pick(event);
  if (!point) {
    document.getElementById("measure-result").textContent = "No point there: click on the cloud or the model.";
    return;
  }
  if (measure.points.length === 2) clearMeasure();
  measure.points.push(point);
  marker(point);
  if (measure.points.length === 2) showDistance();
  else document.getElementById("measure-result").textContent = "Now click the second point.";
  render();
}

function setMeasuring(on) {
  measure.on = on;
  const button = document.getElementById("measure-distance");
  button.setAttribute("aria-pressed", String(on));
  button.classList.toggle("active", on);
  container.classList.toggle("measuring", on);
}

function watchClicks() {
  let down = null;
  renderer.domElement.addEventListener("pointerdown", (event) => {
    down = {x: event.clientX, y: event.clientY};
  });
  renderer.domElement.addEventListener("pointerup", (event) => {
    if (measure.on && down && Math.hypot(event.clientX - down.x, event.clientY - down.y) < CLICK_PIXELS) {
      onPick(event);
    }
    down = null;
  });
}

// --- the panel --------------------------------------------------------------------------------------------------

function bindLayer(id, group, present) {
  const box = document.getElementById(id);
  box.disabled = !present;
  box.checked = present;
  group.visible = present;
  box.addEventListener("change", () => {
    group.visible = box.checked;
    render();
  });
}

function bindPanel(sceneInfo) {
  bindLayer("show-points", layers.points, Boolean(sceneInfo.points));
  bindLayer("show-model", layers.model, Boolean(sceneInfo.model));
  bindLayer("show-cameras", layers.cameras, sceneInfo.cameras.length > 0);
  const size = document.getElementById("point-size");
  pointMaterial.size = Number(size.value);
  size.addEventListener("input", () => {
    pointMaterial.size = Number(size.value);
    render();
  });
  document.getElementById("reset-view").addEventListener("click", resetView);
  document.getElementById("measure-distance").addEventListener("click", () => setMeasuring(!measure.on));
  document.getElementById("measure-clear").addEventListener("click", clearMeasure);
  watchClicks();
}

async function main() {
  const response = await fetch(config.scene);
  if (!response.ok) throw new Error(`the scene answered ${response.status}`);
  const sceneInfo = await response.json();
  setBounds(sceneInfo);
  addFrusta(sceneInfo.cameras);
  bindPanel(sceneInfo);
  controls.addEventListener("change", render);
  new ResizeObserver(resize).observe(container);
  resize();
  resetView();
  const failed = (what) => (error) => {
    say(`Could not load the ${what}: ${error.message}`);
    container.dataset.error = "true";
  };
  (sceneInfo.points ? streamPoints(sceneInfo.points) : Promise.resolve())
    .then(oneLoaded, failed("point cloud"));
  (sceneInfo.model ? loadModel() : Promise.resolve()).then(oneLoaded, failed("textured model"));
}

// For the browser tests and the curious: the three.js objects of the page.
window.aerie3d = {scene, camera, controls, layers, measure, render};
main().catch((error) => {
  say(`Could not load the 3D view: ${error.message}`);
  container.dataset.error = "true";
});
